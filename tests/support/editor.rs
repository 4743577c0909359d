//! What an editor does in every end-to-end test: start the server (the
//! binary over pipes, or in-process over a duplex), initialize it, name
//! files by URI, open documents (with or without a file on disk), and read
//! back the answer a run's progress reports spell out.

#![allow(dead_code)]

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::lsp_client::TestClient;

pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// `initialize` params with `folder` as the one workspace folder.
pub fn initialize_params(folder: &Path, capabilities: Value, options: Value) -> Value {
    json!({
        "processId": null,
        "capabilities": capabilities,
        "workspaceFolders": [{"uri": file_uri(folder), "name": "ws"}],
        "initializationOptions": options,
    })
}

/// Starts the `codex-ls` binary over pipes, as an editor does, with a home
/// of its own: `home` is its `CODEX_HOME` and `HOME` (keeping the user's
/// shell profile out of the commands the agent runs), `home/cache` its
/// `XDG_CACHE_HOME` and `home/tmp` (created here) its `TMPDIR`.
/// `CODEX_LS_LOG` is `log` (unset with `None`). Returns the child and a
/// client connected to it (not initialized).
pub fn spawn_binary(home: &Path, log: Option<&str>, stderr: Stdio) -> (Child, TestClient) {
    std::fs::create_dir_all(home.join("tmp")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_codex-ls"));
    command
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("TMPDIR", home.join("tmp"))
        .env_remove("CODEX_LS_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true);
    if let Some(filter) = log {
        command.env("CODEX_LS_LOG", filter);
    }
    let mut child = command.spawn().unwrap();
    let client = TestClient::new(child.stdout.take().unwrap(), child.stdin.take().unwrap());
    (child, client)
}

/// A `didOpen` of `uri` with `text` (Rust, version 1).
pub async fn did_open(client: &mut TestClient, uri: &str, text: &str) {
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
}

/// Opens `relative` (under `workspace`) in the editor with `text`; `on_disk`
/// is what the file holds on disk (None: no file). Returns its URI.
pub async fn open_document(
    client: &mut TestClient,
    workspace: &Path,
    relative: &str,
    text: &str,
    on_disk: Option<&str>,
) -> String {
    let path = workspace.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if let Some(disk) = on_disk {
        std::fs::write(&path, disk).unwrap();
    }
    let uri = file_uri(&path);
    did_open(client, &uri, text).await;
    uri
}

/// The answer that `report` progress values spell out, honouring `reset`.
pub fn streamed_text(reports: &[Value]) -> String {
    let mut text = String::new();
    for report in reports {
        if report["codex"]["reset"] == true {
            text.clear();
        }
        text.push_str(report["codex"]["delta"].as_str().unwrap());
    }
    text
}

/// Serves codex-ls in-process over a duplex with `launcher` standing in for
/// the app-server, over the transport `main` serves the editor with
/// (`codex_ls::lsp::transport`), and returns a client connected to it (not
/// initialized).
pub fn serve_in_process(launcher: Arc<dyn codex_ls::codex::Launcher>) -> TestClient {
    let (service, socket, _supervisor) = codex_ls::build_service(launcher);
    let (client_side, server_side) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_side);
    codex_ls::lsp::transport::serve(server_read, server_write, service, socket);
    let (client_read, client_write) = tokio::io::split(client_side);
    TestClient::new(client_read, client_write)
}

/// [`serve_in_process`]: there is one transport, and its input checks are
/// always on, as in `main`.
pub fn serve_guarded(launcher: Arc<dyn codex_ls::codex::Launcher>) -> TestClient {
    serve_in_process(launcher)
}

/// How long a test waits for a run's next progress notification.
pub const PROGRESS_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The next `$/progress` value on `token`.
pub async fn next_progress(client: &mut TestClient, token: &Value) -> Value {
    let token = token.clone();
    let params = client
        .expect_notification_where("$/progress", move |p| p["token"] == token, PROGRESS_WAIT)
        .await;
    params["value"].clone()
}

/// The run's reports up to its end: (reports, end). A `begin` still
/// unclaimed is passed over; any other kind fails the test.
pub async fn progress_until_end(client: &mut TestClient, token: &Value) -> (Vec<Value>, Value) {
    let mut reports = Vec::new();
    loop {
        let value = next_progress(client, token).await;
        match value["kind"].as_str() {
            Some("begin") => {}
            Some("report") => reports.push(value),
            Some("end") => return (reports, value),
            _ => panic!("unexpected progress value: {value}"),
        }
    }
}
