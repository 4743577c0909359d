//! The README's eglot snippet in the real editor: `emacs --batch` (Emacs 28
//! with Debian's eglot 1.9, which `scripts/install-generic-editors.sh`
//! installs) loads the snippet extracted verbatim from README.md, so a
//! change there that breaks it fails here, and drives codex-ls with it
//! against the real `codex app-server` and the mock model server
//! (`tests/emacs/drive_eglot.el`): Explain shows the answer file's path,
//! Improve lands its edit in the buffer, Cancel is accepted.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use support::mock_model::{MockModel, Scenario};
use support::readme;
use support::tools::{codex_binary, required};
use tokio::process::Command;

/// Longer than the driver's own waits: the driver reports its failures.
const EMACS_TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

const CALC_PY: &str = "def add(a, b):
    return a + b

def average(items):
    return sum(items) / len(items)
";

#[tokio::test]
async fn the_readme_eglot_snippet_explains_edits_and_cancels() {
    let emacs = required(PathBuf::from("/usr/bin/emacs"), "Emacs (emacs-nox)");
    required(
        PathBuf::from("/usr/share/emacs/site-lisp/elpa/eglot-1.9"),
        "eglot (elpa-eglot)",
    );
    let answer = "`add` returns the sum of its two arguments.";
    let replacement = "def average(items):\n    return sum(items) / len(items) if items else 0.0\n";
    let edit =
        serde_json::json!({"replacement": replacement, "explanation": "Empty lists average to 0."});
    let mock = MockModel::start(vec![
        Scenario::text([answer]),
        Scenario::text([edit.to_string()]),
    ])
    .await;
    let home = tempfile::tempdir().expect("temp dir");
    let codex_home = home.path().join("codex-home");
    mock.write_codex_home(&codex_home);
    let workspace = home.path().join("workspace");
    std::fs::create_dir_all(workspace.join(".git")).expect("workspace");
    std::fs::create_dir_all(workspace.join("src")).expect("workspace/src");
    std::fs::write(workspace.join("src/calc.py"), CALC_PY).expect("calc.py");
    let snippet = home.path().join("codex-ls-snippet.el");
    std::fs::write(&snippet, readme::snippet("### Emacs (eglot)", "elisp")).expect("snippet");
    std::fs::create_dir_all(home.path().join("tmp")).expect("tmp");

    // The snippet starts `codex-ls` from PATH, and codex-ls `codex`.
    let bin_dir = |path: &Path| path.parent().expect("a bin directory").to_path_buf();
    let mut path = vec![
        bin_dir(Path::new(env!("CARGO_BIN_EXE_codex-ls"))),
        bin_dir(&codex_binary()),
    ];
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let child = Command::new(&emacs)
        .args(["--batch", "-l"])
        .arg(repo().join("tests/emacs/drive_eglot.el"))
        .current_dir(&workspace)
        .env("PATH", std::env::join_paths(path).expect("PATH"))
        .env("CODEX_LS_SNIPPET", &snippet)
        .env("CODEX_LS_WORKSPACE", &workspace)
        .env("CODEX_LS_ANSWER", answer)
        .env("CODEX_LS_REPLACEMENT", "if items else 0.0")
        .env("HOME", home.path())
        .env("CODEX_HOME", &codex_home)
        .env("CODEX_LS_LOG", "info")
        .env("XDG_CACHE_HOME", home.path().join("cache"))
        .env("TMPDIR", home.path().join("tmp"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", emacs.display()));
    let output = tokio::time::timeout(EMACS_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("Emacs did not finish within {EMACS_TIMEOUT:?}"))
        .expect("Emacs's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report = format!("--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert!(
        output.status.success() && stdout.lines().any(|line| line == "PASS"),
        "Emacs exited with {}\n{report}",
        output.status
    );
    // The answer file lives in the test's own cache, outside the workspace.
    let shown = stdout
        .lines()
        .find_map(|line| line.strip_prefix("answer file: "))
        .unwrap_or_else(|| panic!("no answer file reported\n{report}"));
    assert!(
        Path::new(shown).starts_with(home.path().join("cache/codex-ls/answers")),
        "{shown}"
    );
    let edited = mock.requests();
    assert_eq!(edited.len(), 2, "one explain and one edit\n{report}");
    // Shown with `--nocapture`.
    println!("{report}");
}
