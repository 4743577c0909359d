//! The test tools that `scripts/test.sh` installs into `.tools/`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The tool at `$env_var`, else at `relative` under the checkout; fails the
/// test with how to install it when it is missing (the test command
/// installs every tool, so a missing one is a failure, not a skip).
pub fn installed(env_var: &str, relative: &str, what: &str) -> PathBuf {
    required(
        std::env::var_os(env_var)
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)),
        what,
    )
}

/// `path`, which must exist: fails the test with how to install `what`
/// otherwise.
pub fn required(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is not installed at {}: run `bash scripts/test.sh`, which installs it",
        path.display()
    );
    path
}

/// The Codex CLI the test command installed.
pub fn codex_binary() -> PathBuf {
    installed(
        "CODEX_LS_TEST_CODEX",
        ".tools/codex/node_modules/.bin/codex",
        "the Codex CLI",
    )
}

/// The version `codex --version` prints for `codex` (`codex-cli 0.169.0`
/// gives "0.169.0").
pub fn codex_version(codex: &Path) -> String {
    let output = std::process::Command::new(codex)
        .arg("--version")
        .output()
        .expect("codex --version");
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string()
}
