//! Fuzzing of the whole language server with what an editor may send.
//!
//! The input is split into lines. A line that starts with `RAW ` is written
//! to the server as it is, followed by `\r\n` (so the input controls the
//! framing: headers, lengths, garbage); any other non-empty line is one
//! message body, framed with a correct `Content-Length` header. An empty
//! line waits until the server is idle (its runs have failed, its requests
//! have been answered), as an editor pausing between keystrokes; lines
//! between empty lines arrive as one burst. The server
//! runs in-process with an app-server launcher that always fails, as if
//! Codex were not installed, so runs start and fail without a process.
//!
//! The harness plays a well-behaved editor around the input: it answers
//! every request the server sends (`workspace/configuration`,
//! `window/workDoneProgress/create`, ...) and checks every message the
//! server writes. Once the server is idle, it closes the server's input.
//! Findings: a panic anywhere, a message that is not well-formed JSON-RPC
//! 2.0, a run still registered once everything is idle, or a server that
//! does not stop when its input ends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::input::lines;
use super::{Finding, PanicWatch, ensure_paused_clock};
use crate::codex::{BackendError, Launched, Launcher};
use crate::lsp::framing::frame;

/// Longer than any timer a run sets while it has no app-server (the
/// 5 s wait for `workDoneProgress/create`, a 10 s progress interval).
/// Virtual time: it passes at once when nothing else can run.
const IDLE: Duration = Duration::from_secs(120);

/// Frames bigger than this are reported instead of read.
const MAX_BODY: usize = 64 << 20;

/// An app-server launcher for a machine without Codex.
struct NoCodex;

impl Launcher for NoCodex {
    fn launch(&self, codex_path: &str) -> Result<Launched, BackendError> {
        Err(BackendError::NotFound {
            path: codex_path.to_string(),
        })
    }
}

/// What the editor side saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Transcript {
    /// Responses the server sent.
    pub responses: usize,
    /// How many requests (each answered by the harness) and notifications
    /// the server sent, by method.
    pub sent: BTreeMap<String, usize>,
}

/// Runs one input; see the module documentation. Needs a current-thread
/// runtime with a paused clock.
pub async fn run(data: &[u8]) -> Result<Transcript, Finding> {
    ensure_paused_clock().await?;
    let watch = PanicWatch::start();
    let (service, socket, supervisor) = crate::build_service(Arc::new(NoCodex));
    let session = service.inner().inner().session().clone();
    let (editor, server_io) = tokio::io::duplex(1 << 16);
    let (server_read, server_write) = tokio::io::split(server_io);
    // The very transport the binary serves the editor with, input checks
    // and all, is part of what is fuzzed.
    let server = crate::lsp::transport::serve(server_read, server_write, service, socket).served;
    let (editor_read, editor_write) = tokio::io::split(editor);
    let (frames, frames_rx) = mpsc::unbounded_channel();
    let end_input = CancellationToken::new();
    let writer = tokio::spawn(write_frames(editor_write, frames_rx, end_input.clone()));
    let reader = tokio::spawn(read_output(editor_read, frames.clone()));
    for item in input(data) {
        match item {
            Input::Frame(frame) => {
                let _ = frames.send(frame);
            }
            Input::Pause => tokio::time::sleep(IDLE).await,
        }
    }
    drop(frames);

    // Wait until everything the input started has run its course.
    tokio::time::sleep(IDLE).await;
    let stuck = session.runs.list();
    if !stuck.is_empty() {
        let ids: Vec<u64> = stuck.iter().map(|run| run.id).collect();
        return Err(Finding::Hang(format!(
            "runs {ids:?} still in flight after {IDLE:?} with nothing left to do"
        )));
    }
    end_input.cancel();
    let served = tokio::time::timeout(IDLE, server).await;
    let _ = writer.await;
    let transcript = match tokio::time::timeout(IDLE, reader).await {
        Ok(Ok(read)) => read?,
        Ok(Err(_)) => return Err(watch.check().err().unwrap_or(Finding::Panic(1))),
        Err(_) => {
            return Err(Finding::Hang(
                "the server's output did not end after its input did".into(),
            ));
        }
    };
    match served {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return Err(watch.check().err().unwrap_or(Finding::Panic(1))),
        Err(_) => {
            return Err(Finding::Hang(
                "the server did not stop after its input ended".into(),
            ));
        }
    }
    supervisor.shutdown().await;
    watch.check()?;
    Ok(transcript)
}

/// One item of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Bytes to write to the server.
    Frame(Vec<u8>),
    /// Wait until the server is idle.
    Pause,
}

/// What the input asks for, item by item.
pub fn input(data: &[u8]) -> Vec<Input> {
    lines(data)
        .map(|line| {
            if line.is_empty() {
                Input::Pause
            } else if let Some(raw) = line.strip_prefix(b"RAW ") {
                Input::Frame([raw, b"\r\n"].concat())
            } else {
                Input::Frame(frame(line))
            }
        })
        .collect()
}

/// Writes frames until told to end the input, then shuts the stream down
/// so the server sees end of file.
async fn write_frames<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut frames: mpsc::UnboundedReceiver<Vec<u8>>,
    end: CancellationToken,
) {
    loop {
        let frame = tokio::select! {
            biased;
            frame = frames.recv() => frame,
            () = end.cancelled() => None,
        };
        let Some(frame) = frame else { break };
        if writer.write_all(&frame).await.is_err() {
            // The server stopped reading (after `exit`).
            return;
        }
    }
    // Replies to the server's last requests may still be queued.
    while let Ok(frame) = frames.try_recv() {
        if writer.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}

/// Reads and checks every message the server writes, and answers the
/// server's requests as a well-behaved editor would.
async fn read_output<R: tokio::io::AsyncRead + Unpin>(
    reader: R,
    replies: mpsc::UnboundedSender<Vec<u8>>,
) -> Result<Transcript, Finding> {
    let mut reader = BufReader::new(reader);
    let mut transcript = Transcript::default();
    loop {
        let Some(length) = read_headers(&mut reader).await? else {
            return Ok(transcript);
        };
        if length > MAX_BODY {
            return Err(Finding::Malformed(format!("a message of {length} bytes")));
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return Err(Finding::Malformed(
                "the output ended inside a message".into(),
            ));
        }
        let message: Value = serde_json::from_slice(&body).map_err(|err| {
            Finding::Malformed(format!(
                "a body that is not JSON ({err}): {}",
                String::from_utf8_lossy(&body)
            ))
        })?;
        let kind = check_message(&message)?;
        if let Some(method) = message.get("method").and_then(Value::as_str) {
            *transcript.sent.entry(method.to_string()).or_default() += 1;
        }
        match kind {
            Kind::Response => transcript.responses += 1,
            Kind::Notification => {}
            Kind::Request => {
                let reply = answer(&message);
                let _ = replies.send(frame(reply.to_string().as_bytes()));
            }
        }
    }
}

/// The body length from one header block, or `None` at a clean end of
/// the output.
async fn read_headers<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> Result<Option<usize>, Finding> {
    let mut length = None;
    let mut first = true;
    loop {
        let mut line = Vec::new();
        let read = reader
            .read_until(b'\n', &mut line)
            .await
            .map_err(|err| Finding::Malformed(format!("reading the output failed: {err}")))?;
        if read == 0 {
            return if first {
                Ok(None)
            } else {
                Err(Finding::Malformed(
                    "the output ended inside a header".into(),
                ))
            };
        }
        first = false;
        let Some(line) = line.strip_suffix(b"\r\n") else {
            return Err(Finding::Malformed(format!(
                "a header line not ended by CRLF: {:?}",
                String::from_utf8_lossy(&line)
            )));
        };
        if line.is_empty() {
            return length
                .map(Some)
                .ok_or_else(|| Finding::Malformed("a header block without Content-Length".into()));
        }
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(": ") else {
            return Err(Finding::Malformed(format!("a header line {text:?}")));
        };
        if name.eq_ignore_ascii_case("Content-Length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| Finding::Malformed(format!("a Content-Length of {value:?}")))?,
            );
        }
    }
}

enum Kind {
    Request,
    Notification,
    Response,
}

/// Checks that `message` is a JSON-RPC 2.0 request, notification or
/// response.
fn check_message(message: &Value) -> Result<Kind, Finding> {
    let bad = |why: &str| Err(Finding::Malformed(format!("{why}: {message}")));
    if message.get("jsonrpc") != Some(&json!("2.0")) {
        return bad("no \"jsonrpc\": \"2.0\"");
    }
    let id = message.get("id");
    let id_ok = |id: &Value| id.is_string() || id.is_i64() || id.is_u64();
    match message.get("method") {
        Some(Value::String(_)) => match id {
            None => Ok(Kind::Notification),
            Some(id) if id_ok(id) => Ok(Kind::Request),
            Some(_) => bad("a request id that is neither a number nor a string"),
        },
        Some(_) => bad("a method that is not a string"),
        None => {
            match id {
                Some(id) if id_ok(id) || id.is_null() => {}
                _ => return bad("a response without a valid id"),
            }
            match (message.get("result"), message.get("error")) {
                (Some(_), None) => Ok(Kind::Response),
                (None, Some(error))
                    if error.get("code").is_some_and(Value::is_i64)
                        && error.get("message").is_some_and(Value::is_string) =>
                {
                    Ok(Kind::Response)
                }
                _ => bad("a response without exactly one of a result and a valid error"),
            }
        }
    }
}

/// What a well-behaved editor answers to a request from the server.
fn answer(request: &Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let result = match method {
        "workspace/configuration" => {
            let items = request
                .pointer("/params/items")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            Value::Array(vec![Value::Null; items])
        }
        "window/showDocument" => json!({"success": true}),
        "workspace/applyEdit" => json!({"applied": false}),
        "window/workDoneProgress/create"
        | "window/showMessageRequest"
        | "client/registerCapability"
        | "client/unregisterCapability" => Value::Null,
        _ => {
            return json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": -32601, "message": "the fuzz editor does not know this"}});
        }
    };
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_frames_raw_lines_stay_raw_and_empty_lines_pause() {
        assert_eq!(
            input(b"{}\n\nRAW Content-Length: 1\nRAW \n"),
            vec![
                Input::Frame(b"Content-Length: 2\r\n\r\n{}".to_vec()),
                Input::Pause,
                Input::Frame(b"Content-Length: 1\r\n".to_vec()),
                Input::Frame(b"\r\n".to_vec()),
            ]
        );
        assert_eq!(input(b"\n"), vec![Input::Pause]);
        assert_eq!(input(b""), vec![]);
    }

    #[test]
    fn messages_are_checked() {
        assert!(check_message(&json!({"jsonrpc": "2.0", "id": 1, "result": null})).is_ok());
        assert!(check_message(&json!({"jsonrpc": "2.0", "method": "x"})).is_ok());
        assert!(
            check_message(&json!({"jsonrpc": "2.0", "id": null,
            "error": {"code": -32700, "message": "parse error"}}))
            .is_ok()
        );
        assert!(check_message(&json!({"id": 1, "result": null})).is_err());
        assert!(check_message(&json!({"jsonrpc": "2.0", "id": 1})).is_err());
        assert!(check_message(&json!({"jsonrpc": "2.0", "id": [], "method": "x"})).is_err());
        assert!(
            check_message(&json!({"jsonrpc": "2.0", "id": 1, "error": {"code": "x"}})).is_err()
        );
    }

    #[test]
    fn the_editor_answers_configuration_with_one_value_per_item() {
        let request = json!({"jsonrpc": "2.0", "id": 3, "method": "workspace/configuration",
            "params": {"items": [{"section": "codex"}, {"section": "x"}]}});
        assert_eq!(
            answer(&request),
            json!({"jsonrpc": "2.0", "id": 3, "result": [null, null]})
        );
    }
}
