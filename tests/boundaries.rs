//! Keeps the architecture's boundaries true (see STYLE.md): the domain and
//! the client never see LSP types, the document store knows nothing of
//! Codex, and only the client spawns processes.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.push((path, text));
            }
        }
    }
    assert!(!found.is_empty(), "no sources under src/{dir}");
    found
}

fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    sources(dir)
        .into_iter()
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| forbidden.iter().any(|needle| line.contains(needle)))
                .map(|(n, line)| format!("{}:{}: {}", path.display(), n + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn codex_prompt_and_document_know_nothing_of_lsp() {
    for dir in ["codex", "prompt", "document"] {
        let found = offenders(
            dir,
            &[
                "tower_lsp_server",
                "ls_types",
                "crate::lsp",
                "crate::handlers",
            ],
        );
        assert!(
            found.is_empty(),
            "LSP types leak into src/{dir}:\n{}",
            found.join("\n")
        );
    }
}

#[test]
fn the_document_store_knows_nothing_of_codex() {
    let found = offenders("document", &["crate::codex", "crate::prompt"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn only_the_codex_client_spawns_processes() {
    for dir in ["prompt", "document", "lsp", "handlers"] {
        let found = offenders(dir, &["Command::new", "process::Command"]);
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}
