//! The `codex-ls` command line, run as the real binary: an argument that is
//! not UTF-8 is a usage error (exit 2) or, as `ask --file`'s path, a path;
//! never a panic.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::process::{Command, Stdio};

fn codex_ls(args: &[OsString]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_codex-ls"))
        .args(args)
        .env_remove("CODEX_LS_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn not_utf8() -> OsString {
    OsString::from_vec(b"\xff\xfe.rs".to_vec())
}

#[test]
fn an_argument_that_is_not_utf8_is_a_usage_error() {
    for args in [
        vec![not_utf8()],
        vec!["ask".into(), "--file".into(), "a.rs".into(), not_utf8()],
    ] {
        let output = codex_ls(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
}

#[test]
fn a_file_path_that_is_not_utf8_is_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join(std::path::Path::new(&not_utf8()));
    let output = codex_ls(&[
        "ask".into(),
        "--file".into(),
        missing.into(),
        "Explain".into(),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("attachment-not-found"), "{stderr}");
}

#[test]
fn version_help_and_unknown_arguments_answer_as_before() {
    let output = codex_ls(&["--version".into()]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("codex-ls {}\n", env!("CARGO_PKG_VERSION"))
    );
    let output = codex_ls(&["-h".into()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("codex-ls ask --file PATH"));
    let output = codex_ls(&["bogus".into()]);
    assert_eq!(output.status.code(), Some(2));
    let output = codex_ls(&["ask".into(), "Explain".into()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--file"));
}
