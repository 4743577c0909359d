//! What an editor does in every end-to-end test: name files by URI, open
//! documents (with or without a file on disk), and read back the answer a
//! run's progress reports spell out.

#![allow(dead_code)]

use std::path::Path;

use serde_json::{Value, json};

use super::lsp_client::TestClient;

pub fn file_uri(path: &Path) -> String {
    format!("file://{}", path.display())
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
    client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
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
/// the app-server, and returns a client connected to it (not initialized).
pub fn serve_in_process(launcher: std::sync::Arc<dyn codex_ls::codex::Launcher>) -> TestClient {
    let (service, socket, _supervisor) = codex_ls::build_service(launcher);
    let (client_side, server_side) = tokio::io::duplex(1 << 20);
    let (server_read, server_write) = tokio::io::split(server_side);
    tokio::spawn(async move {
        tower_lsp_server::Server::new(server_read, server_write, socket)
            .serve(service)
            .await;
    });
    let (client_read, client_write) = tokio::io::split(client_side);
    TestClient::new(client_read, client_write)
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
