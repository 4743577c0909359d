//! The README's Kakoune snippet in the real editor: Kakoune 2022.10.31
//! (Debian's, which `scripts/install-generic-editors.sh` installs) runs
//! headless (`kak -n -ui dummy`), sources the snippet extracted verbatim
//! from README.md and runs `tests/kakoune/check_snippet.kak`: the snippet
//! must load without errors, its hook must give a Python window the
//! codex-ls server entry, and `codex-cancel` must build the command's JSON
//! argument for the buffer.
//!
//! Not tested: the round trip through kak-lsp, which is only on crates.io
//! (building it would cost every fresh test run minutes of CPU); the check
//! script declares the two things the snippet takes from kak-lsp.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::readme;
use support::tools::required;
use tokio::process::Command;

const KAK_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_readme_kakoune_snippet_loads_and_configures_codex_ls() {
    let kak = required(PathBuf::from("/usr/bin/kak"), "Kakoune (kakoune)");
    let home = tempfile::tempdir().expect("temp dir");
    let snippet = home.path().join("codex-ls.kak");
    std::fs::write(&snippet, readme::snippet("### Kakoune (kak-lsp)", "kak")).expect("snippet");
    let file = home.path().join("calc.py");
    std::fs::write(&file, "def add(a, b):\n    return a + b\n").expect("calc.py");
    let out = home.path().join("out");
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kakoune/check_snippet.kak");
    let mut child = Command::new(&kak)
        .args(["-n", "-ui", "dummy", "-e"])
        .arg(format!("source '{}'", check.display()))
        .current_dir(home.path())
        .env("CODEX_LS_SNIPPET", &snippet)
        .env("CODEX_LS_FILE", &file)
        .env("CODEX_LS_OUT", &out)
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", kak.display()));
    let status = tokio::time::timeout(KAK_TIMEOUT, child.wait())
        .await
        .unwrap_or_else(|_| panic!("Kakoune did not finish within {KAK_TIMEOUT:?}"))
        .expect("Kakoune's status");
    let read = |suffix: &str| {
        std::fs::read_to_string(format!("{}{suffix}", out.display())).unwrap_or_default()
    };
    assert_eq!(read(""), "PASS", "Kakoune exited with {status}");
    assert!(status.success(), "{status}");

    // The server entry kak-lsp would read, as TOML key lines.
    let servers = read(".servers");
    let lines: Vec<&str> = servers.lines().map(str::trim).collect();
    assert!(lines.contains(&"[codex-ls]"), "{servers}");
    assert!(lines.contains(&"command = \"codex-ls\""), "{servers}");

    // `codex-cancel` sends `codex.cancel` with exactly the buffer's URI.
    let command = read(".command");
    let (name, argument) = command
        .split_once(' ')
        .unwrap_or_else(|| panic!("{command}"));
    assert_eq!(name, "codex.cancel");
    let argument: Value = serde_json::from_str(argument).expect("a JSON argument");
    let uri = format!("file://{}", file.display());
    assert_eq!(argument, json!([{"textDocument": {"uri": uri}}]));
}
