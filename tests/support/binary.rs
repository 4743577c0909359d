//! The real `codex-ls` binary over pipes, as an editor starts it: a home
//! and a workspace of its own, its stderr in `home/stderr.log`, initialized
//! by a streaming client; and the crate's fake app-server installed as its
//! `codexPath`.
#![allow(dead_code)]

use std::process::Stdio;

use codex_ls::fuzzing::fake_app_server::{Script, process};
use serde_json::{Value, json};
use tokio::process::Child;

use super::editor::{initialize_params, spawn_binary};
use super::lsp_client::TestClient;

pub struct Binary {
    pub client: TestClient,
    pub child: Child,
    pub workspace: tempfile::TempDir,
    /// The server's home (see `spawn_binary`), and its stderr.
    pub home: tempfile::TempDir,
}

impl Binary {
    /// Starts codex-ls logging at `log` and initializes it with `options`
    /// (which name its `codexPath`).
    pub async fn start(log: &str, options: Value) -> Binary {
        let home = tempfile::tempdir().unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let stderr = std::fs::File::create(home.path().join("stderr.log")).unwrap();
        let (child, mut client) = spawn_binary(home.path(), Some(log), Stdio::from(stderr));
        client
            .initialize(initialize_params(
                workspace.path(),
                json!({"window": {"workDoneProgress": true}}),
                options,
            ))
            .await;
        Binary {
            client,
            child,
            workspace,
            home,
        }
    }

    /// What codex-ls wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("stderr.log")).unwrap_or_default()
    }

    /// `workspace/executeCommand` of `command` with `args`, which must
    /// succeed.
    pub async fn command(&mut self, command: &str, args: Value) -> Value {
        let answer = self
            .client
            .request(
                "workspace/executeCommand",
                json!({"command": command, "arguments": [args]}),
            )
            .await;
        answer.unwrap_or_else(|err| panic!("{command} failed: {err}\n{}", self.log()))
    }
}

/// Installs the crate's fake app-server (the `codex-ls-fake-app-server`
/// binary) with `script` in `dir`; returns the `codexPath` to give codex-ls.
pub fn fake_codex(dir: &std::path::Path, script: &Script) -> std::path::PathBuf {
    process::install(
        dir,
        script,
        std::path::Path::new(env!("CARGO_BIN_EXE_codex-ls-fake-app-server")),
    )
    .expect("the fake app-server installs")
}
