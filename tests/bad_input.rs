//! Bad client input that the other tests do not send: bytes that are not
//! UTF-8 inside a JSON string, lone UTF-16 surrogates and NULs escaped in
//! JSON, frames that are not JSON-RPC, a 50 MB document, and URIs that climb
//! with `..` or name files outside every workspace folder. Each gets a
//! JSON-RPC error or a clamped result, and the server answers the next
//! request.
//!
//! The raw bytes go to the real `codex-ls` binary over pipes (its `main`
//! serves it over the transport of `codex_ls::lsp::transport`); the
//! runs go to the server in-process, over the same transport, with a fake
//! app-server that records what Codex was asked.
//!
//! Already covered elsewhere (not repeated here): missing and wrongly typed
//! params, unknown commands and documents, reversed ranges and positions
//! past the end (tests/faults.rs
//! `bad_client_input_gets_errors_or_clamps_and_the_server_keeps_serving`,
//! tests/in_process.rs
//! `commands_on_unopened_documents_and_bad_arguments_are_invalid_params` and
//! `positions_inside_a_surrogate_pair_are_rejected_and_past_the_end_clamps`).
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::binary::Binary;
use support::editor::file_uri;
use support::harness::{FakeLauncher, Harness, WAIT, range, snapshot_root};

/// 50 MB, as the requirement names it.
const BIG_DOCUMENT: usize = 50 * 1024 * 1024;
/// A debug build parses a 50 MB message several times over.
const BIG_WAIT: Duration = Duration::from_secs(120);

fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A JSON text with `raw` spliced in where `@RAW@` stands (inside a string,
/// so `raw` can hold bytes no JSON serializer would write).
fn splice(json_text: &str, raw: &[u8]) -> Vec<u8> {
    let at = json_text.find("@RAW@").expect("a @RAW@ marker");
    let mut body = json_text.as_bytes()[..at].to_vec();
    body.extend_from_slice(raw);
    body.extend_from_slice(&json_text.as_bytes()[at + "@RAW@".len()..]);
    body
}

// ---------------------------------------------------------------------------
// The real binary over pipes
// ---------------------------------------------------------------------------

/// The binary with no Codex behind it: these tests never reach one.
async fn start_server() -> Binary {
    Binary::start("info", json!({"codexPath": "/nonexistent/codex"})).await
}

impl Binary {
    /// Sends `body` framed, as it is, and returns the answer to its `id`.
    async fn raw_request(&mut self, body: &[u8], id: &Value) -> Result<Value, Value> {
        self.client.send_raw(&frame(body)).await;
        self.client.expect_response(id, WAIT).await
    }

    async fn status(&mut self) -> Value {
        self.command("codex.status", json!({})).await
    }

    /// The Codex code action on `uri`, which the server offers only for an
    /// open document: proof that its `didOpen` was taken.
    async fn explain_action(&mut self, uri: &str, selection: Value) -> Value {
        let actions = self
            .client
            .request(
                "textDocument/codeAction",
                json!({"textDocument": {"uri": uri}, "range": selection, "context": {"diagnostics": []}}),
            )
            .await
            .unwrap_or_else(|err| panic!("codeAction failed: {err}"));
        assert_eq!(actions[0]["title"], "Codex: Explain selection", "{actions}");
        actions
    }

    async fn finish(mut self) {
        let status = self.status().await;
        assert_eq!(status["serverVersion"], env!("CARGO_PKG_VERSION"));
        self.client.shutdown_and_exit().await;
        let exited = tokio::time::timeout(WAIT, self.child.wait()).await;
        assert!(
            exited.is_ok_and(|status| status.is_ok_and(|s| s.success())),
            "the server did not exit cleanly; log:\n{}",
            self.log()
        );
        assert!(
            self.client.wait_closed(WAIT).await,
            "the server did not close its output"
        );
    }
}

#[tokio::test]
async fn invalid_utf8_inside_json_strings_becomes_u_fffd_and_the_server_keeps_serving() {
    let mut server = start_server().await;
    // A request: the command name comes out with U+FFFD where the bytes were.
    let body = splice(
        r#"{"jsonrpc":"2.0","id":"utf8","method":"workspace/executeCommand","params":{"command":"codex.@RAW@status","arguments":[{}]}}"#,
        b"\xff\xfe",
    );
    let error = server.raw_request(&body, &json!("utf8")).await.unwrap_err();
    assert_eq!(error["code"], -32602, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("codex.\u{fffd}\u{fffd}status"),
        "{message}"
    );

    // A notification: the document opens (its invalid bytes replaced).
    let uri = file_uri(&server.workspace.path().join("bytes.rs"));
    let body = splice(
        &format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{uri}","languageId":"rust","version":1,"text":"fn a() {{}}\n// @RAW@ end\n"}}}}}}"#
        ),
        b"\xc3\x28 \xed\xa0\x80 \x80",
    );
    server.client.send_raw(&frame(&body)).await;
    server.explain_action(&uri, range(0, 0, 1, 4)).await;
    assert!(server.log().contains("not valid UTF-8"), "{}", server.log());
    server.finish().await;
}

#[tokio::test]
async fn lone_surrogates_and_nuls_escaped_in_json_strings_are_taken_as_text() {
    let mut server = start_server().await;
    let body = br#"{"jsonrpc":"2.0","id":"lone","method":"workspace/executeCommand","params":{"command":"codex.\ud800x\udc00","arguments":[{}]}}"#;
    let error = server.raw_request(body, &json!("lone")).await.unwrap_err();
    assert_eq!(error["code"], -32602, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("codex.\u{fffd}x\u{fffd}"), "{message}");

    let uri = file_uri(&server.workspace.path().join("binary.bin"));
    let body = format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{uri}","languageId":"plaintext","version":1,"text":"\u0000\u0001\ud800\udfff\ud83d\ude00\u0000\n\u007f\ufffe\n"}}}}}}"#
    );
    server.client.send_raw(&frame(body.as_bytes())).await;
    server.explain_action(&uri, range(0, 0, 1, 1)).await;
    server.finish().await;
}

#[tokio::test]
async fn frames_that_are_not_json_rpc_get_errors_and_the_server_keeps_serving() {
    let mut server = start_server().await;
    // Not JSON: a parse error with a null id (the id cannot be read).
    let error = server
        .raw_request(br#"{"jsonrpc": "2.0", "id": 9, "method": "#, &Value::Null)
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32700, "{error}");
    // JSON, but no JSON-RPC message: an invalid request, with its id.
    let error = server
        .raw_request(
            br#"{"jsonrpc":"2.0","id":"shape","method":7}"#,
            &json!("shape"),
        )
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32600, "{error}");
    let error = server
        .raw_request(
            br#"[{"jsonrpc":"2.0","method":"initialized"}]"#,
            &Value::Null,
        )
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32600, "{error}");
    // Garbage between frames, and a frame with three headers, which the
    // LSP transport alone would stop reading at.
    let status = json!({"jsonrpc": "2.0", "id": "headers", "method": "workspace/executeCommand",
        "params": {"command": "codex.status", "arguments": [{}]}})
    .to_string();
    let mut bytes = b"this is not a header\r\n\r\n".to_vec();
    bytes.extend_from_slice(
        format!(
            "Content-Length: {}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\nX-Extra: 1\r\n\r\n{status}",
            status.len()
        )
        .as_bytes(),
    );
    server.client.send_raw(&bytes).await;
    let answer = server
        .client
        .expect_response(&json!("headers"), WAIT)
        .await
        .unwrap();
    assert_eq!(answer["serverVersion"], env!("CARGO_PKG_VERSION"));
    server.finish().await;
}

/// A document of `bytes` bytes in lines of 100.
fn big_text(bytes: usize) -> String {
    let line = format!("{}\n", "x".repeat(99));
    line.repeat(bytes / line.len())
}

#[tokio::test]
async fn a_50_mb_document_opens_and_the_next_request_is_answered() {
    let mut server = start_server().await;
    server.client.set_request_timeout(BIG_WAIT);
    let text = big_text(BIG_DOCUMENT);
    let lines = text.len() / 100;
    let uri = file_uri(&server.workspace.path().join("big.txt"));
    let started = Instant::now();
    server
        .client
        .notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "plaintext", "version": 1, "text": text}}),
        )
        .await;
    drop(text);
    let last = lines as u32 - 1;
    server.explain_action(&uri, range(last, 0, last, 50)).await;
    println!("a 50 MB didOpen and a code action: {:?}", started.elapsed());
    // An edit far past the end is clamped to it; the document stays usable.
    server
        .client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
                {"range": range(u32::MAX, 0, u32::MAX, 5), "text": "tail\n"}]}),
        )
        .await;
    server
        .explain_action(&uri, range(last + 1, 0, last + 1, 4))
        .await;
    server.finish().await;
}

// ---------------------------------------------------------------------------
// Runs, in-process behind the same guard
// ---------------------------------------------------------------------------

/// Runs to completion; the next request is answered too.
async fn run_to_completion(h: &mut Harness, uri: &str, token: &str) {
    h.run_to_completion(uri, token).await;
    h.status_when_idle().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uris_with_dot_dot_or_other_schemes_never_attach_the_file_they_point_at() {
    let mut h = Harness::start_guarded(FakeLauncher::playing(&["ok"])).await;
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.rs");
    std::fs::write(&secret, "fn secret() {}\n").unwrap();
    let climbing = format!(
        "{}/../{}/secret.rs",
        file_uri(h.workspace.path()),
        outside.path().file_name().unwrap().to_string_lossy()
    );
    let cases = [
        // Climbs out of the workspace to a file that holds the buffer.
        climbing,
        // The path of another scheme is no path on this machine.
        format!("https://example.com{}", secret.display()),
        // Climbs to a file that does not exist.
        "file:///a/../b".to_string(),
    ];
    for (n, uri) in cases.iter().enumerate() {
        h.open_uri(uri, "fn secret() {}\n").await;
        run_to_completion(&mut h, uri, &format!("dots-{n}")).await;
        let asked = h.launcher.asked(n);
        assert_eq!(asked.cwd, h.workspace.path(), "{uri}");
        // The buffer is attached, as a snapshot.
        assert!(!asked.attachments.is_empty(), "{uri} attached nothing");
        for (path, placeholder) in &asked.attachments {
            assert!(
                snapshot_root(path).is_some(),
                "{uri} attached {} ({placeholder}) by its path",
                path.display()
            );
            assert!(!placeholder.contains(".."), "{placeholder}");
        }
        assert!(
            !asked.prompt.contains(&outside.path().display().to_string()),
            "{}",
            asked.prompt
        );
    }
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_outside_every_workspace_folder_runs_in_its_own_directory() {
    let mut h = Harness::start_guarded(FakeLauncher::playing(&["ok"])).await;
    let outside = tempfile::tempdir().unwrap();
    let own = outside.path().join("own.rs");
    std::fs::write(&own, "fn own() {}\n").unwrap();
    let uri = file_uri(&own);
    // Clean: its own file is attached, relative to its own directory.
    h.open_uri(&uri, "fn own() {}\n").await;
    run_to_completion(&mut h, &uri, "own-clean").await;
    let clean = h.launcher.asked(0);
    assert_eq!(clean.cwd, outside.path());
    assert_eq!(clean.attachments.len(), 1);
    assert_eq!(clean.cwd.join(&clean.attachments[0].0), own);
    // Dirty: a snapshot, and nothing else of the outside directory.
    h.client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "fn edited() {}\n"}]}),
        )
        .await;
    run_to_completion(&mut h, &uri, "own-dirty").await;
    let dirty = h.launcher.asked(1);
    assert!(
        snapshot_root(&dirty.attachments[0].0).is_some(),
        "{:?}",
        dirty.attachments
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nuls_invalid_bytes_and_lone_surrogates_reach_the_snapshot_as_text() {
    let mut h = Harness::start_guarded(FakeLauncher::playing(&["hang-interrupt"])).await;
    let uri = file_uri(&h.workspace.path().join("binary.bin"));
    let body = splice(
        &format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{{"textDocument":{{"uri":"{uri}","languageId":"plaintext","version":1,"text":"a\u0000b\ud800c\udc00d@RAW@e\r\n\u001b[0m\n"}}}}}}"#
        ),
        b"\xff",
    );
    h.client.send_raw(&frame(&body)).await;
    let token = json!("binary");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": token}))
        .await;
    // The turn is under way once its first report arrives.
    assert_eq!(h.next_progress(&token).await["kind"], "begin");
    assert_eq!(h.next_progress(&token).await["kind"], "report");
    let snapshot = h.launcher.asked(0).attachments[0].0.clone();
    assert!(snapshot_root(&snapshot).is_some(), "{}", snapshot.display());
    assert_eq!(
        std::fs::read_to_string(&snapshot).unwrap(),
        "a\u{0}b\u{fffd}c\u{fffd}d\u{fffd}e\r\n\u{1b}[0m\n"
    );
    h.command("codex.cancel", json!({"token": token}))
        .await
        .unwrap();
    let (_, end) = h.rest_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    assert!(!snapshot.exists());
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_a_50_mb_document_completes_and_the_next_request_is_answered() {
    let mut h = Harness::start_guarded(FakeLauncher::playing(&["ok"])).await;
    h.client.set_request_timeout(BIG_WAIT);
    let text = big_text(BIG_DOCUMENT);
    let last = (text.len() / 100) as u32 - 1;
    let uri = h.open("big.rs", &text, Some("an older version\n")).await;
    drop(text);
    let started = Instant::now();
    h.run(
        json!({"textDocument": {"uri": uri}, "range": range(last - 2, 0, last + 5, 0),
        "prompt": "Explain", "progressToken": "big"}),
    )
    .await;
    let (begin, _, end) = h.progress_until_end(&json!("big")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(
        begin["message"],
        format!("lines {}-{}", last - 1, last + 1),
        "clamped to the end (the selection ends where the last line starts)"
    );
    println!("a run on a 50 MB document: {:?}", started.elapsed());
    let asked = h.launcher.asked(0);
    let selection = &asked.attachments[1];
    assert_eq!(selection.1, format!("big.rs:{}-{}", last - 1, last + 1));
    assert!(!selection.0.exists(), "snapshots are removed");
    h.status_when_idle().await;
    h.finish().await;
}
