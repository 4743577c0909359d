//! Keeps the architecture's boundaries true (see STYLE.md): the domain and
//! the client never see LSP types, the document store knows nothing of
//! Codex, only the client spawns processes, only `src/lsp/` builds the LSP
//! values codex-ls sends, and handlers reach Codex only through the domain.
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

/// The part of a source file that is not its unit tests (which may build
/// whatever values they check against).
fn without_tests(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |at| &text[..at])
}

/// The names a file takes from `ls_types`, and the alias it gives the
/// module itself (`self as lsp`), from its `use` lines.
fn ls_types_names(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut names, mut aliases) = (Vec::new(), vec!["ls_types".to_string()]);
    let mut rest = text;
    while let Some(at) = rest.find("ls_types::") {
        rest = &rest[at + "ls_types::".len()..];
        let list = match rest.strip_prefix('{') {
            Some(group) => &group[..group.find('}').unwrap_or(group.len())],
            None => &rest[..rest.find(';').unwrap_or(0)],
        };
        for item in list
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            match item.split_once(" as ") {
                Some(("self", alias)) => aliases.push(alias.trim().to_string()),
                Some((_, alias)) => names.push(alias.trim().to_string()),
                None if item.contains("::") || item == "self" => {}
                None => names.push(item.to_string()),
            }
        }
    }
    (names, aliases)
}

/// Whether `line` writes a struct literal `Name {` of one of `names` (or
/// `alias::Name {`), not a type or pattern that merely names it.
fn builds_one_of(line: &str, names: &[String], aliases: &[String]) -> Option<String> {
    let code = line.split("//").next().unwrap_or("").trim();
    let declares = [
        "struct ",
        "pub struct ",
        "enum ",
        "pub enum ",
        "impl ",
        "fn ",
        "pub fn ",
    ]
    .iter()
    .any(|start| code.starts_with(start));
    if declares {
        return None;
    }
    let mut found = None;
    for (at, _) in code.match_indices(" {") {
        let before = &code[..at];
        let path = before
            .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or("");
        // A type before `{` (a return type, a bound) opens a block, and a
        // pattern (`let Name { .. } =`, a match arm) reads a value: neither
        // builds one.
        let prefix = before[..before.len() - path.len()].trim_end();
        let block = ["->", " for", "impl"]
            .iter()
            .any(|end| prefix.ends_with(end));
        let pattern = prefix.ends_with("let") || code[at..].contains("=>");
        if block || pattern {
            continue;
        }
        let name = match path.rsplit_once("::") {
            Some((module, name))
                if aliases
                    .iter()
                    .any(|known| module.rsplit("::").next() == Some(known)) =>
            {
                name
            }
            Some(_) => continue,
            None if names.iter().any(|known| known == path) => path,
            None => continue,
        };
        if name.starts_with(char::is_uppercase) {
            found = Some(name.to_string());
        }
    }
    found
}

/// Every LSP value codex-ls sends (diagnostics, workspace edits, code
/// actions and their `data`, progress, request params, the capabilities)
/// is built in `src/lsp/` (`to_proto` from the payload types of `ext`), so
/// the wire format has one place. The rule, precisely: outside `src/lsp/`
/// and outside unit tests, no code writes a struct literal of an
/// `ls_types` type, and no handler writes JSON by hand (`json!`).
/// `src/fuzzing/` is exempt: it builds what a client sends, the server's
/// input.
#[test]
fn only_lsp_builds_outbound_lsp_values() {
    let mut found = Vec::new();
    for dir in ["", "handlers", "codex", "prompt", "document"] {
        for (path, text) in sources(dir) {
            let relative = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap();
            if relative.starts_with("src/lsp") || relative.starts_with("src/fuzzing") {
                continue;
            }
            if dir.is_empty() && relative.components().count() > 2 {
                continue; // the files of src/ itself; the folders come next
            }
            let code = without_tests(&text);
            let (names, aliases) = ls_types_names(code);
            let handler = dir == "handlers";
            for (n, line) in code.lines().enumerate() {
                let built = builds_one_of(line, &names, &aliases)
                    .map(|name| format!("builds `{name}`"))
                    .or_else(|| {
                        (handler && line.contains("json!")).then(|| "writes `json!`".into())
                    });
                if let Some(what) = built {
                    found.push(format!(
                        "{}:{}: {what}: {}",
                        path.display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "outbound LSP values are built in src/lsp/to_proto.rs from the types of src/lsp/ext.rs:\n{}",
        found.join("\n")
    );
}

/// Handlers reach Codex through the domain (`prompt/`) and the session,
/// never by naming `crate::codex` themselves.
#[test]
fn handlers_do_not_reach_codex_directly() {
    let found = offenders("handlers", &["crate::codex"]);
    assert!(
        found.is_empty(),
        "handlers go through prompt/ or the session, not crate::codex:\n{}",
        found.join("\n")
    );
}
