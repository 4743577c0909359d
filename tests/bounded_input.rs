//! Input too big to hold, from either side, costs codex-ls no more than its
//! documented limits: an app-server line over 64 MiB is discarded as it
//! streams, a stderr without newlines (or with bytes that are not UTF-8) is
//! drained in bounded memory for the app-server's whole life, and a client
//! frame over 256 MiB is skipped and refused. Each time the session goes on.
//!
//! The real `codex-ls` binary runs over pipes; its peak memory is read from
//! `/proc/PID/status` (`VmHWM`). The app-server is the crate's fake
//! (`codexPath`), scripted to send the huge line or flood its stderr.
//! The back-pressure on error answers to a client that does not read is
//! proven beside the transport (`src/lsp/transport.rs`, on a paused clock).
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_ls::fuzzing::fake_app_server::{Script, Step};
use serde_json::{Value, json};
use support::binary::Binary;
use support::editor::{open_document, progress_until_end, streamed_text};

const MIB: u64 = 1 << 20;
/// A debug build streaming hundreds of MiB through pipes.
const WAIT: Duration = Duration::from_secs(120);

/// The crate's fake app-server: answers `initialize`, `thread/start` and
/// `turn/start`, streams the answer "Fine." and completes the turn.
/// `on_initialize` is done before the `initialize` answer, `on_turn` after
/// the `turn/start` answer, before the turn's first notification.
fn fake_app_server(dir: &Path, on_initialize: Vec<Step>, on_turn: Vec<Step>) -> PathBuf {
    let initialize = on_initialize.into_iter().chain([Step::Answer]).collect();
    let turn = [Step::Answer]
        .into_iter()
        .chain(on_turn)
        .chain([
            Step::Delta {
                text: "Fine.".into(),
            },
            Step::Complete,
        ])
        .collect();
    let script = Script::answering("Fine.")
        .on("initialize", initialize)
        .on("turn/start", turn);
    support::binary::fake_codex(dir, &script)
}

/// Starts codex-ls with `codex_path` as its app-server (`None`: one that
/// does not exist), initialized.
async fn start_server(codex_path: Option<&Path>) -> Binary {
    let codex_path = codex_path.map_or("/nonexistent/codex".to_string(), |path| {
        path.display().to_string()
    });
    let mut server = Binary::start("info", json!({"codexPath": codex_path})).await;
    server.client.set_request_timeout(WAIT);
    server
}

impl Binary {
    fn memory(&self, field: &str) -> u64 {
        let pid = self.child.id().expect("codex-ls runs");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status
            .lines()
            .find(|line| line.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in {status}"));
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap();
        kib * 1024
    }

    /// Peak resident memory of codex-ls so far.
    fn peak_memory(&self) -> u64 {
        self.memory("VmHWM:")
    }

    fn resident_memory(&self) -> u64 {
        self.memory("VmRSS:")
    }

    async fn status(&mut self) -> Value {
        self.client
            .request(
                "workspace/executeCommand",
                json!({"command": "codex.status", "arguments": [{}]}),
            )
            .await
            .unwrap_or_else(|err| panic!("codex.status failed: {err}\n{}", self.log()))
    }

    /// Runs "Explain" on a fresh document and returns (streamed text, end).
    async fn run(&mut self, token: &str) -> (String, Value) {
        let uri = open_document(
            &mut self.client,
            self.workspace.path(),
            &format!("{token}.rs"),
            "fn a() {}\n",
            Some("fn a() {}\n"),
        )
        .await;
        self.client
            .request(
                "workspace/executeCommand",
                json!({"command": "codex.run", "arguments": [
                    {"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": token}]}),
            )
            .await
            .unwrap_or_else(|err| panic!("codex.run failed: {err}\n{}", self.log()));
        let (reports, end) = progress_until_end(&mut self.client, &json!(token)).await;
        (streamed_text(&reports), end)
    }

    async fn finish(mut self) {
        self.client
            .allow_unclaimed("textDocument/publishDiagnostics");
        self.client.shutdown_and_exit().await;
        let exited = tokio::time::timeout(WAIT, self.child.wait()).await;
        assert!(
            exited.is_ok_and(|status| status.is_ok_and(|s| s.success())),
            "the server did not exit cleanly; log:\n{}",
            self.log()
        );
    }
}

#[tokio::test]
async fn an_app_server_line_over_the_limit_is_discarded_in_bounded_memory_and_the_run_goes_on() {
    let line = 200 * MIB;
    let dir = tempfile::tempdir().unwrap();
    // A JSON notification of 200 MiB, written 1 MiB at a time.
    let codex = fake_app_server(
        dir.path(),
        vec![Step::HugeLine {
            bytes: line as usize,
        }],
        Vec::new(),
    );
    let mut server = start_server(Some(&codex)).await;
    let before = server.resident_memory();
    let (text, end) = server.run("big-line").await;
    assert_eq!(
        end["codex"]["status"],
        "completed",
        "{end}\n{}",
        server.log()
    );
    assert_eq!(text, "Fine.");
    let peak = server.peak_memory();
    let after = server.resident_memory();
    println!(
        "a {} MiB line: resident {} MiB before, {} MiB after, peak {} MiB",
        line / MIB,
        before / MIB,
        after / MIB,
        peak / MIB
    );
    assert!(
        peak < 128 * MIB,
        "peak memory {} MiB for a {} MiB line",
        peak / MIB,
        line / MIB
    );
    assert!(
        after < before + 32 * MIB,
        "memory did not return to normal: {} MiB before the run, {} MiB after",
        before / MIB,
        after / MIB
    );
    let log = server.log();
    let discarded: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("discarded a message from codex app-server"))
        .collect();
    assert_eq!(discarded.len(), 1, "logged once:\n{log}");
    assert!(
        !log.contains("xxxxxxxx"),
        "the line's content reached the log"
    );
    server.status().await;
    server.finish().await;
}

#[tokio::test]
async fn an_app_server_stderr_without_newlines_or_with_invalid_utf8_keeps_being_drained() {
    let dir = tempfile::tempdir().unwrap();
    // 100 MiB without a newline, a line that is not UTF-8, then 4 MiB more
    // (past the pipe's buffer: a drain that stopped would block this write,
    // or fail it with EPIPE).
    let mut flood = vec![
        Step::StderrFill {
            byte: b'e',
            bytes: 100 * MIB as usize,
            newline: true,
        },
        Step::StderrBytes {
            bytes: b"not utf-8: \xff\xfe\x80\n".to_vec(),
        },
    ];
    flood.extend((0..4).map(|_| Step::StderrFill {
        byte: b'e',
        bytes: MIB as usize,
        newline: true,
    }));
    let codex = fake_app_server(dir.path(), Vec::new(), flood);
    let mut server = start_server(Some(&codex)).await;
    let (text, end) = server.run("stderr").await;
    assert_eq!(
        end["codex"]["status"],
        "completed",
        "{end}\n{}",
        server.log()
    );
    assert_eq!(text, "Fine.");
    let peak = server.peak_memory();
    println!(
        "100 MiB of stderr without a newline: peak {} MiB",
        peak / MIB
    );
    assert!(peak < 64 * MIB, "peak memory {} MiB", peak / MIB);
    // The app-server lives on: a second run on it works too.
    let (text, end) = server.run("stderr-again").await;
    assert_eq!(
        end["codex"]["status"],
        "completed",
        "{end}\n{}",
        server.log()
    );
    assert_eq!(text, "Fine.");
    server.finish().await;
}

#[tokio::test]
async fn a_client_frame_over_the_limit_is_refused_and_the_next_request_is_answered() {
    let mut server = start_server(None).await;
    let length: usize = 300 << 20;
    let start = br#"{"jsonrpc":"2.0","id":"huge","method":"workspace/executeCommand","params":{"command":"codex.status","arguments":[{"pad":""#;
    let end = br#""}]}}"#;
    let mut head = format!("Content-Length: {length}\r\n\r\n").into_bytes();
    head.extend_from_slice(start);
    server.client.send_raw(&head).await;
    let chunk = vec![b'x'; MIB as usize];
    let mut left = length - start.len() - end.len();
    while left > 0 {
        let n = left.min(chunk.len());
        server.client.send_raw(&chunk[..n]).await;
        left -= n;
    }
    server.client.send_raw(end).await;
    let error = server
        .client
        .expect_response(&json!("huge"), WAIT)
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32600, "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("too large"), "{message}");
    // The next request is answered.
    let status = server.status().await;
    assert_eq!(status["serverVersion"], env!("CARGO_PKG_VERSION"));
    let peak = server.peak_memory();
    println!("a 300 MiB frame: peak {} MiB", peak / MIB);
    assert!(peak < 64 * MIB, "peak memory {} MiB", peak / MIB);
    assert!(server.log().contains("over the limit"), "{}", server.log());
    server.finish().await;
}
