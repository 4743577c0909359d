//! The wire between the client and tower-lsp-server.
//!
//! tower-lsp-server stops reading its input for good at the first frame it
//! cannot decode: invalid UTF-8, a lone UTF-16 surrogate escape (`"\ud800"`),
//! malformed JSON, an object that is not a JSON-RPC message, a third header.
//! One bad byte from the client would end the session. So every frame from
//! the client passes through [`guard`] first:
//!
//! - invalid UTF-8 and lone surrogate escapes become U+FFFD, and the message
//!   goes on;
//! - a frame that still is not a JSON-RPC message is dropped and answered
//!   with a JSON-RPC error: `-32700` (parse error, `id: null`) when it is not
//!   JSON, `-32600` (invalid request, with its `id` when it has one) when it
//!   is JSON of the wrong shape;
//! - headers other than `Content-Length` are dropped, and bytes that do not
//!   form a header are skipped;
//! - a frame whose `Content-Length` is over [`MAX_FRAME`] is skipped as it
//!   streams, never buffered, and refused with an invalid-request error
//!   when its start shows a request's `id` (otherwise only logged).
//!
//! Error answers wait for the writer in a short queue: a client that sends
//! garbage and does not read its answers is slowed down to the pace it reads
//! at, instead of making the queue grow without bound.
//!
//! The server's own frames pass through unchanged; the error answers go out
//! between them, never inside one. Nothing here logs message contents.

use std::borrow::Cow;
use std::io;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
    DuplexStream,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tower_lsp_server::jsonrpc::{Id, Request, Response};

/// Messages larger than this are checked on a blocking thread.
const BIG_MESSAGE: usize = 1 << 20;
/// A header line longer than this is garbage.
const MAX_HEADER_LINE: usize = 8 * 1024;
/// Buffer of the in-memory pipes to and from the server.
const PIPE_BUFFER: usize = 1 << 16;
/// The most a frame's body reserves before its bytes arrive.
const MAX_RESERVED_BODY: usize = 64 << 20;
/// The largest frame body from the client that is read (README,
/// "Protocol"); a larger one is skipped and refused.
pub const MAX_FRAME: usize = 256 << 20;
/// How much of a refused frame is kept to find its `id`: editors write
/// `jsonrpc`, `id` and `method` before `params`.
const REFUSED_HEAD: usize = 4 << 10;
/// Error answers waiting for the writer. When the queue is full the client's
/// input waits, which is the back-pressure on a client that does not read.
const REPLY_QUEUE: usize = 16;

/// The server's side of the guarded wire, and the task that writes its
/// output.
pub struct GuardedWire {
    /// What the server reads: the client's frames, checked.
    pub input: DuplexStream,
    /// What the server writes to.
    pub output: DuplexStream,
    /// Ends when the server's output is closed and written out; await it
    /// (with a timeout) before the process exits, so the last answers go
    /// out.
    pub flushed: JoinHandle<()>,
}

/// Puts the guard between the client (`input`, `output`) and the server.
pub fn guard<I, O>(input: I, output: O) -> GuardedWire
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let (server_input, to_server) = tokio::io::duplex(PIPE_BUFFER);
    let (server_output, from_server) = tokio::io::duplex(PIPE_BUFFER);
    let (replies, replies_rx) = mpsc::channel(REPLY_QUEUE);
    let (frames, frames_rx) = mpsc::channel(64);
    tokio::spawn(pass_client_frames(
        BufReader::new(input),
        to_server,
        replies,
    ));
    tokio::spawn(split_server_frames(BufReader::new(from_server), frames));
    let flushed = tokio::spawn(write_output(output, frames_rx, replies_rx));
    GuardedWire {
        input: server_input,
        output: server_output,
        flushed,
    }
}

/// Reads the client's frames, checks them and passes the good ones on;
/// answers the bad ones. Stops after `exit` (the server stops reading then,
/// and a read left pending on stdin would hold up the process's exit).
async fn pass_client_frames<R: AsyncBufRead + Unpin>(
    mut input: R,
    mut server: DuplexStream,
    replies: mpsc::Sender<Vec<u8>>,
) {
    loop {
        let body = match read_client_frame(&mut input).await {
            Ok(Some(ClientFrame::Body(body))) => body,
            Ok(Some(ClientFrame::TooLarge { length, head })) => {
                if let Some(reply) = refusal(length, &head)
                    && replies.send(frame(&reply)).await.is_err()
                {
                    break;
                }
                continue;
            }
            Ok(None) => break,
            Err(err) => {
                tracing::warn!("reading from the client failed: {err}");
                break;
            }
        };
        let checked = if body.len() > BIG_MESSAGE {
            tokio::task::spawn_blocking(move || check(body))
                .await
                .unwrap_or_else(|_| {
                    Checked::Reply(error_reply(-32603, "Internal error", Value::Null))
                })
        } else {
            check(body)
        };
        match checked {
            Checked::Message { body, exit } => {
                if write_frame(&mut server, &body).await.is_err() {
                    break;
                }
                if exit {
                    break;
                }
            }
            Checked::Reply(reply) => {
                // Waits while the writer is behind: see [`REPLY_QUEUE`].
                if replies.send(frame(&reply)).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = server.shutdown().await;
}

/// Cuts the server's output into whole frames.
async fn split_server_frames<R: AsyncBufRead + Unpin>(
    mut from_server: R,
    frames: mpsc::Sender<Vec<u8>>,
) {
    while let Ok(Some(body)) = read_frame(&mut from_server).await {
        if frames.send(frame(&body)).await.is_err() {
            return;
        }
    }
}

/// Writes the server's frames and our error answers, one whole frame at a
/// time, until the server's output ends.
async fn write_output<O: AsyncWrite + Unpin>(
    mut output: O,
    mut frames: mpsc::Receiver<Vec<u8>>,
    mut replies: mpsc::Receiver<Vec<u8>>,
) {
    loop {
        let next = tokio::select! {
            frame = frames.recv() => frame,
            Some(reply) = replies.recv() => Some(reply),
        };
        let Some(bytes) = next else {
            break;
        };
        if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
            break;
        }
    }
}

/// A frame's body after the check.
#[derive(Debug, PartialEq)]
enum Checked {
    /// A JSON-RPC message for the server (`exit`: the `exit` notification).
    Message { body: Vec<u8>, exit: bool },
    /// Not one: the error answer to send back.
    Reply(Vec<u8>),
}

/// tower-lsp-server's own reading of a message (its type is private).
#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)] // only whether it parses matters
enum Message {
    Response(Response),
    Request(Request),
}

/// A request or notification read as tower-lsp-server's [`Request`] reads
/// it, without building it: `jsonrpc` is `"2.0"`, `method` a string, `id` an
/// [`Id`], no known field twice, and every value (`params` and unknown
/// fields too) as strict as [`Strict`]. Whatever this accepts, the server
/// accepts; what it refuses goes to the server's own reading to decide.
struct RequestShape {
    exit: bool,
}

impl<'de> Deserialize<'de> for RequestShape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RequestShapeVisitor)
    }
}

struct RequestShapeVisitor;

impl<'de> Visitor<'de> for RequestShapeVisitor {
    type Value = RequestShape;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON-RPC request or notification")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RequestShape, A::Error> {
        // jsonrpc, method, params, id
        let mut seen = [false; 4];
        let mut exit = false;
        while let Some(Text(key)) = map.next_key()? {
            let field = match key.as_ref() {
                "jsonrpc" => 0,
                "method" => 1,
                "params" => 2,
                "id" => 3,
                _ => {
                    map.next_value::<Strict>()?;
                    continue;
                }
            };
            if std::mem::replace(&mut seen[field], true) {
                return Err(de::Error::custom("duplicate field"));
            }
            match field {
                0 => {
                    let Text(version) = map.next_value()?;
                    if version != "2.0" {
                        return Err(de::Error::custom("expected JSON-RPC version \"2.0\""));
                    }
                }
                1 => {
                    let Text(method) = map.next_value()?;
                    exit = method == "exit";
                }
                2 => {
                    map.next_value::<Strict>()?;
                }
                _ => {
                    map.next_value::<Id>()?;
                }
            }
        }
        if !seen[0] {
            return Err(de::Error::missing_field("jsonrpc"));
        }
        Ok(RequestShape { exit })
    }
}

/// A string, borrowed when it has no escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// Any JSON value, read as strictly as [`Value`] reads it (nesting depth,
/// numbers in range, no lone surrogates), without building it. (serde's
/// `IgnoredAny` is laxer: it skips values unchecked.)
struct Strict;

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Strict, E> {
        Ok(Strict)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Strict, E> {
        Ok(Strict)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Strict, E> {
        Ok(Strict)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Strict, E> {
        Ok(Strict)
    }

    fn visit_str<E>(self, _: &str) -> Result<Strict, E> {
        Ok(Strict)
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Strict)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        while map.next_entry::<Strict, Strict>()?.is_some() {}
        Ok(Strict)
    }
}

/// Checks a frame's body as tower-lsp-server will read it, repairing what
/// can be repaired.
fn check(body: Vec<u8>) -> Checked {
    let mut text = match String::from_utf8(body) {
        Ok(text) => text,
        Err(err) => {
            tracing::warn!(
                "a message from the client is not valid UTF-8; the invalid bytes became U+FFFD"
            );
            String::from_utf8_lossy(err.as_bytes()).into_owned()
        }
    };
    if let Some(exit) = message_kind(&text) {
        return Checked::Message {
            body: text.into_bytes(),
            exit,
        };
    }
    if replace_lone_surrogates(&mut text) {
        tracing::warn!(
            "a message from the client has lone UTF-16 surrogate escapes; they became U+FFFD"
        );
        if let Some(exit) = message_kind(&text) {
            return Checked::Message {
                body: text.into_bytes(),
                exit,
            };
        }
    }
    match serde_json::from_str::<Value>(&text) {
        Err(err) => {
            tracing::warn!(
                "answered a message from the client that is not JSON ({:?} error at line {}, column {}) with a parse error",
                err.classify(),
                err.line(),
                err.column()
            );
            Checked::Reply(error_reply(
                -32700,
                "Parse error: the message is not JSON",
                Value::Null,
            ))
        }
        Ok(value) => {
            let id = match value.get("id") {
                Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
                _ => Value::Null,
            };
            tracing::warn!(
                "answered a message from the client that is not a JSON-RPC 2.0 message with an invalid-request error"
            );
            Checked::Reply(error_reply(
                -32600,
                "Invalid request: not a JSON-RPC 2.0 request, notification or response",
                id,
            ))
        }
    }
}

/// `Some(is_exit)` when tower-lsp-server can read `text` as a message.
fn message_kind(text: &str) -> Option<bool> {
    // Most client messages are requests and notifications: checked without
    // building them (this runs on every keystroke's didChange).
    if let Ok(shape) = serde_json::from_str::<RequestShape>(text) {
        return Some(shape.exit);
    }
    // Responses, and anything the quick reading refused: the server's own
    // reading decides. (Not `Request` alone: read directly, it skips unknown
    // fields unchecked, where the server's reading checks them.)
    match serde_json::from_str::<Message>(text).ok()? {
        Message::Request(request) => Some(request.method() == "exit"),
        Message::Response(_) => Some(false),
    }
}

/// Replaces `\uXXXX` escapes of lone UTF-16 surrogates with `\ufffd` (the
/// same length). Returns whether it replaced any.
fn replace_lone_surrogates(text: &mut String) -> bool {
    fn surrogate_at(bytes: &[u8], at: usize) -> Option<u16> {
        let hex = bytes.get(at..at + 6)?;
        if hex[0] != b'\\' || hex[1] != b'u' {
            return None;
        }
        let value = u16::from_str_radix(std::str::from_utf8(&hex[2..]).ok()?, 16).ok()?;
        (0xD800..=0xDFFF).contains(&value).then_some(value)
    }
    let mut bytes = std::mem::take(text).into_bytes();
    let mut replaced = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        match surrogate_at(&bytes, i) {
            // A high surrogate with its low one: a character, kept.
            Some(0xD800..=0xDBFF)
                if surrogate_at(&bytes, i + 6).is_some_and(|low| low >= 0xDC00) =>
            {
                i += 12;
            }
            Some(_) => {
                bytes[i + 2..i + 6].copy_from_slice(b"fffd");
                replaced = true;
                i += 6;
            }
            // Any other escape: skip the escaped character, so `\\` never
            // starts an escape of its own.
            None => i += 2,
        }
    }
    // Only ASCII hex digits were replaced by ASCII hex digits.
    *text = String::from_utf8(bytes).unwrap_or_default();
    replaced
}

/// The answer to a frame over [`MAX_FRAME`]: an invalid-request error when
/// its start shows a request (a `method` and an `id`); a notification or a
/// response gets none (JSON-RPC answers neither), only a log line.
fn refusal(length: usize, head: &[u8]) -> Option<Vec<u8>> {
    let start = FrameHead::read(head);
    match start.id {
        Some(id) if start.is_request => {
            tracing::warn!(
                "refused a request from the client of {length} bytes, over the limit of {MAX_FRAME} bytes"
            );
            Some(error_reply(
                -32600,
                &format!(
                    "Invalid request: the message is too large ({length} bytes; the limit is {MAX_FRAME} bytes)"
                ),
                id,
            ))
        }
        _ => {
            tracing::warn!(
                "dropped a message from the client of {length} bytes, over the limit of {MAX_FRAME} bytes"
            );
            None
        }
    }
}

/// What the start of a frame tells of it: its `id` and whether it has a
/// `method`, read from its top-level keys up to where the start is cut off.
#[derive(Debug, Default, PartialEq)]
struct FrameHead {
    id: Option<Value>,
    is_request: bool,
}

impl FrameHead {
    fn read(head: &[u8]) -> FrameHead {
        let mut found = FrameHead::default();
        let mut reader = serde_json::Deserializer::from_slice(head);
        // A cut-off body always ends in an error; what was read before the
        // cut counts.
        let _ = de::DeserializeSeed::deserialize(FrameHeadSeed(&mut found), &mut reader);
        found
    }
}

struct FrameHeadSeed<'a>(&'a mut FrameHead);

impl<'de> de::DeserializeSeed<'de> for FrameHeadSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FrameHeadSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "id" => {
                    let id: Value = map.next_value()?;
                    if matches!(id, Value::Number(_) | Value::String(_)) {
                        self.0.id = Some(id);
                    }
                }
                "method" => {
                    map.next_value::<Text>()?;
                    self.0.is_request = true;
                }
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn error_reply(code: i64, message: &str, id: Value) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": id})
        .to_string()
        .into_bytes()
}

/// `body` with its `Content-Length` header.
pub(crate) fn frame(body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, body: &[u8]) -> io::Result<()> {
    writer
        .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
        .await?;
    writer.write_all(body).await?;
    writer.flush().await
}

/// A frame from the client.
#[derive(Debug, PartialEq)]
enum ClientFrame {
    Body(Vec<u8>),
    /// Its `Content-Length` is over [`MAX_FRAME`]: the body was skipped,
    /// all but its first [`REFUSED_HEAD`] bytes.
    TooLarge {
        length: usize,
        head: Vec<u8>,
    },
}

/// Reads one frame from the client; `None` at the end of the input (also in
/// the middle of a frame).
async fn read_client_frame<R: AsyncBufRead + Unpin>(
    reader: &mut R,
) -> io::Result<Option<ClientFrame>> {
    let Some(length) = read_header(reader).await? else {
        return Ok(None);
    };
    if length > MAX_FRAME {
        let head = skip_body(reader, length).await?;
        return Ok(head.map(|head| ClientFrame::TooLarge { length, head }));
    }
    Ok(read_body(reader, length).await?.map(ClientFrame::Body))
}

/// Reads one frame's body (of any size: the server's own frames); `None` at
/// the end of the input (also in the middle of a frame).
async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Option<Vec<u8>>> {
    match read_header(reader).await? {
        Some(length) => read_body(reader, length).await,
        None => Ok(None),
    }
}

/// Reads a frame's headers up to its body and returns its `Content-Length`;
/// `None` at the end of the input. Header blocks without a usable
/// `Content-Length`, and lines that are not headers, are skipped.
async fn read_header<R: AsyncBufRead + Unpin>(reader: &mut R) -> io::Result<Option<usize>> {
    let mut length: Option<usize> = None;
    let mut headers = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        if !read_header_line(reader, &mut line).await? {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            match length {
                Some(length) => return Ok(Some(length)),
                None if headers > 0 => {
                    tracing::warn!(
                        "skipped a frame from the client without a Content-Length header"
                    );
                    headers = 0;
                }
                None => {}
            }
            continue;
        }
        headers += 1;
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                length = value.trim().parse().ok();
            }
            Some(_) => {}
            None => tracing::warn!("skipped a line from the client that is not a header"),
        }
    }
}

/// Reads a line into `line` (at most [`MAX_HEADER_LINE`] bytes of it; the
/// rest is dropped). `false` at the end of the input.
async fn read_header_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> io::Result<bool> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        let (taken, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        let room = MAX_HEADER_LINE.saturating_sub(line.len());
        line.extend_from_slice(&available[..taken.min(room)]);
        reader.consume(taken);
        if done {
            return Ok(true);
        }
    }
}

async fn read_body<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    length: usize,
) -> io::Result<Option<Vec<u8>>> {
    // Reserved up to a bound: a Content-Length that lies costs address
    // space, not memory, and beyond the bound the body grows as it arrives.
    let mut body = Vec::with_capacity(length.min(MAX_RESERVED_BODY));
    let read = reader.take(length as u64).read_to_end(&mut body).await?;
    Ok((read == length).then_some(body))
}

/// Reads past a body of `length` bytes as it arrives, keeping only its first
/// [`REFUSED_HEAD`] bytes; `None` if the input ends first.
async fn skip_body<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    length: usize,
) -> io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(REFUSED_HEAD.min(length));
    let mut left = length;
    while left > 0 {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(None);
        }
        let taken = available.len().min(left);
        let room = REFUSED_HEAD - head.len();
        head.extend_from_slice(&available[..taken.min(room)]);
        reader.consume(taken);
        left -= taken;
    }
    Ok(Some(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    fn reply(checked: Checked) -> Value {
        match checked {
            Checked::Reply(bytes) => serde_json::from_slice(&bytes).unwrap(),
            other => panic!("expected an error answer, got {other:?}"),
        }
    }

    #[test]
    fn good_messages_pass_unchanged() {
        let request = body(json!({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}));
        assert_eq!(
            check(request.clone()),
            Checked::Message {
                body: request,
                exit: false
            }
        );
        let response = body(json!({"jsonrpc": "2.0", "id": 3, "result": null}));
        assert!(matches!(
            check(response),
            Checked::Message { exit: false, .. }
        ));
        let exit = body(json!({"jsonrpc": "2.0", "method": "exit"}));
        assert!(matches!(check(exit), Checked::Message { exit: true, .. }));
        let pair = br#"{"jsonrpc":"2.0","method":"x","params":"\ud83d\ude00 \\ud800"}"#.to_vec();
        assert_eq!(
            check(pair.clone()),
            Checked::Message {
                body: pair,
                exit: false
            }
        );
    }

    #[test]
    fn invalid_utf8_and_lone_surrogates_become_replacement_characters() {
        let mut raw = br#"{"jsonrpc":"2.0","method":"x","params":{"text":"a"#.to_vec();
        raw.extend_from_slice(b"\xff\xfe");
        raw.extend_from_slice(br#"b\ud800c\udc00d\ud800\u0041"}}"#);
        let Checked::Message { body, exit: false } = check(raw) else {
            panic!("not repaired")
        };
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value["params"]["text"],
            "a\u{fffd}\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}A"
        );
    }

    #[test]
    fn what_is_not_a_message_is_answered_with_an_error() {
        let parse = reply(check(b"{\"jsonrpc\": ".to_vec()));
        assert_eq!(parse["error"]["code"], -32700);
        assert_eq!(parse["id"], Value::Null);
        let invalid = reply(check(body(json!({"jsonrpc": "2.0", "id": 7, "method": 5}))));
        assert_eq!(invalid["error"]["code"], -32600);
        assert_eq!(invalid["id"], 7);
        let batch = reply(check(body(json!([{"jsonrpc": "2.0", "method": "x"}]))));
        assert_eq!(batch["error"]["code"], -32600);
        let version = reply(check(body(
            json!({"jsonrpc": "1.0", "id": "a", "method": "x"}),
        )));
        assert_eq!(version["id"], "a");
        let mut deep = String::from(r#"{"jsonrpc":"2.0","method":"x","params":"#);
        deep.push_str(&"[".repeat(200));
        deep.push_str(&"]".repeat(200));
        deep.push('}');
        // Deeper than any JSON reader here goes: not JSON we can read.
        assert_eq!(reply(check(deep.into_bytes()))["error"]["code"], -32700);
    }

    /// The quick reading never accepts what the server's reading refuses,
    /// and accepts the requests editors send.
    #[test]
    fn the_quick_reading_agrees_with_the_servers() {
        let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
                true,
            ),
            (r#"{"jsonrpc":"2.0","method":"exit"}"#, true),
            (
                r#"{"jsonrpc":"2.0","method":"x","params":null,"id":null}"#,
                true,
            ),
            (
                r#"{"jsonrpc":"2\u002e0","me\u0074hod":"x","id":"s","extra":[1,{"a":1e-400}]}"#,
                true,
            ),
            (
                r#"{"jsonrpc":"2.0","id":-9223372036854775808,"method":"x"}"#,
                true,
            ),
            (
                &format!(r#"{{"jsonrpc":"2.0","method":"x","params":{}}}"#, deep(126)),
                true,
            ),
            (r#"{"jsonrpc":"2.0"}"#, true),
            (r#"{"jsonrpc":"2.0","id":1,"result":null}"#, true),
            (
                r#"{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}"#,
                true,
            ),
            (
                &format!(r#"{{"jsonrpc":"2.0","method":"x","params":{}}}"#, deep(127)),
                false,
            ),
            (
                &format!(r#"{{"jsonrpc":"2.0","method":"x","other":{}}}"#, deep(200)),
                false,
            ),
            (r#"{"jsonrpc":"2.0","method":"x","params":[1e400]}"#, false),
            (
                r#"{"jsonrpc":"2.0","method":"x","unknown":"\ud800"}"#,
                false,
            ),
            (r#"{"jsonrpc":"2.0","method":null}"#, false),
            (r#"{"jsonrpc":"2.0","method":"x","method":"y"}"#, false),
            (r#"{"jsonrpc":"2.0","method":"x","id":1.5}"#, false),
            (
                r#"{"jsonrpc":"2.0","method":"x","id":9223372036854775808}"#,
                false,
            ),
            (r#"{"jsonrpc":"2.0","method":"x","id":true}"#, false),
            (r#"{"jsonrpc":"2.00","method":"x"}"#, false),
            (r#"{"method":"x"}"#, false),
            (r#"["jsonrpc","2.0"]"#, false),
            (r#"{"jsonrpc":"2.0","method":"x"} {}"#, false),
        ];
        for (text, valid) in cases {
            let server = serde_json::from_str::<Message>(text).is_ok();
            assert_eq!(server, valid, "the server's reading of {text}");
            let quick = serde_json::from_str::<RequestShape>(text).is_ok();
            assert!(!quick || server, "quick reading accepts {text}");
            if valid && text.contains("method") && !text.contains("\"method\":\"x\",\"method\"") {
                assert!(quick, "quick reading refuses the request {text}");
            }
            assert_eq!(message_kind(text).is_some(), valid, "{text}");
        }
    }

    /// Mutated messages: whatever the check passes on, the server reads.
    #[test]
    fn what_passes_the_check_the_server_reads() {
        let seeds = [
            r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/didChange","params":{"textDocument":{"uri":"file:///a","version":2},"contentChanges":[{"text":"a\u00e9\ud83d\ude00"}]}}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":[1,-2.5e3,null,true]}"#,
            r#"{"jsonrpc":"2.0","method":"exit","extra":{"k":[[]]}}"#,
        ];
        let alphabet = b"[]{}\",:\\0189eE-.+udDnt \x80\xff";
        // xorshift: deterministic, no dependency.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let (mut passed, mut answered) = (0, 0);
        for round in 0..20_000 {
            let mut bytes = seeds[round % seeds.len()].as_bytes().to_vec();
            for _ in 0..1 + next(3) {
                let at = next(bytes.len());
                let byte = alphabet[next(alphabet.len())];
                match next(3) {
                    0 => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            match check(bytes.clone()) {
                Checked::Message { body, .. } => {
                    passed += 1;
                    assert!(
                        serde_json::from_slice::<Message>(&body).is_ok(),
                        "passed on, but the server cannot read it: {}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
                Checked::Reply(_) => answered += 1,
            }
        }
        assert!(
            passed > 1000 && answered > 1000,
            "{passed} passed, {answered} answered"
        );
    }

    #[test]
    fn only_escapes_of_lone_surrogates_are_replaced() {
        let mut text = r#"["\\ud800", "\ud800x", "\udbff\udfff", "\\"]"#.to_string();
        assert!(replace_lone_surrogates(&mut text));
        assert_eq!(text, r#"["\\ud800", "\ufffdx", "\udbff\udfff", "\\"]"#);
        let mut clean = r#""\u00e9\n""#.to_string();
        assert!(!replace_lone_surrogates(&mut clean));
    }

    #[tokio::test]
    async fn frames_are_read_past_garbage_and_odd_headers() {
        let input = b"garbage\r\n\r\nContent-Type: x\r\n\r\ncontent-length: 2\r\nX-Other: 1\r\nContent-Type: y\r\n\r\n{}Content-Length: 5\r\n\r\nab";
        let mut reader = &input[..];
        assert_eq!(read_frame(&mut reader).await.unwrap(), Some(b"{}".to_vec()));
        assert_eq!(
            read_frame(&mut reader).await.unwrap(),
            None,
            "truncated body"
        );
    }

    /// A frame over the limit streams past without being buffered: the
    /// server never sees it, a request gets an error with its id, and the
    /// next frame passes.
    #[tokio::test]
    async fn a_frame_over_the_limit_is_refused_and_the_next_one_passes() {
        use tokio::io::AsyncReadExt;
        let length = MAX_FRAME + (16 << 20);
        let start =
            br#"{"jsonrpc":"2.0","id":"huge","method":"textDocument/hover","params":{"pad":""#;
        let end = br#""}}"#;
        let header = format!("Content-Length: {length}\r\n\r\n");
        let pad = (length - start.len() - end.len()) as u64;
        let good = frame(&body(json!({"jsonrpc": "2.0", "id": 2, "method": "m"})));
        let input = std::io::Cursor::new(header.into_bytes())
            .chain(&start[..])
            .chain(tokio::io::repeat(b'x').take(pad))
            .chain(&end[..])
            .chain(std::io::Cursor::new(good.clone()));
        let (client_side, output) = tokio::io::duplex(1 << 16);
        let mut wire = guard(input, output);
        let mut client_in = BufReader::new(client_side);
        let wait = std::time::Duration::from_secs(60);
        let answer = tokio::time::timeout(wait, read_frame(&mut client_in))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let answer: Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["id"], "huge", "{answer}");
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("too large"), "{message}");
        let mut server_in = BufReader::new(&mut wire.input);
        let passed = tokio::time::timeout(wait, read_frame(&mut server_in))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(frame(&passed), good, "the server sees only the next frame");
    }

    #[tokio::test]
    async fn only_the_skipped_frames_start_is_kept_and_a_notification_gets_no_answer() {
        use tokio::io::AsyncReadExt;
        let length = MAX_FRAME + 1;
        let start = br#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"text":""#;
        let header = format!("Content-Length: {length}\r\n\r\n");
        let input = header
            .as_bytes()
            .chain(&start[..])
            .chain(tokio::io::repeat(b'x').take((length - start.len()) as u64))
            .chain(&b"Content-Length: 2\r\n\r\n{}"[..]);
        let mut input = BufReader::new(input);
        let Some(ClientFrame::TooLarge { length: read, head }) =
            read_client_frame(&mut input).await.unwrap()
        else {
            panic!("expected a refused frame");
        };
        assert_eq!((read, head.len()), (length, REFUSED_HEAD));
        assert_eq!(refusal(length, &head), None);
        assert_eq!(
            read_client_frame(&mut input).await.unwrap(),
            Some(ClientFrame::Body(b"{}".to_vec()))
        );
        assert_eq!(read_client_frame(&mut input).await.unwrap(), None);
    }

    #[test]
    fn a_frames_start_tells_its_id_only_for_a_request() {
        let request = FrameHead::read(br#"{"jsonrpc":"2.0","id":7,"method":"x","params":{"a":"#);
        assert_eq!(
            request,
            FrameHead {
                id: Some(json!(7)),
                is_request: true
            }
        );
        // An `id` inside `params` is not the message's.
        let nested = FrameHead::read(br#"{"method":"x","params":{"id":3,"text":"abc"#);
        assert_eq!(nested.id, None);
        let response = FrameHead::read(br#"{"jsonrpc":"2.0","id":"r","result":[1,2"#);
        assert!(!response.is_request);
        assert!(refusal(MAX_FRAME + 1, br#"{"id":"r","result":["#).is_none());
        assert_eq!(FrameHead::read(b"\xff\xfe garbage"), FrameHead::default());
    }

    /// A client that sends garbage and never reads the error answers: the
    /// guard stops reading its input once a few answers wait, so memory
    /// cannot grow. (On a paused clock, the timeout fires only when every
    /// task is stuck waiting.)
    #[tokio::test(start_paused = true)]
    async fn error_answers_to_a_client_that_does_not_read_hold_up_its_input() {
        const FRAMES: usize = 10_000;
        let (client_input, guard_input) = tokio::io::duplex(4 << 10);
        let (client_output, guard_output) = tokio::io::duplex(4 << 10);
        let wire = guard(guard_input, guard_output);
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let writer = tokio::spawn({
            let sent = sent.clone();
            let mut client_input = client_input;
            async move {
                for _ in 0..FRAMES {
                    client_input.write_all(&frame(b"{oops")).await.unwrap();
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                client_input
            }
        });
        let mut writer = writer;
        let stalled = tokio::time::timeout(std::time::Duration::from_secs(60), &mut writer).await;
        assert!(
            stalled.is_err(),
            "all {FRAMES} frames were taken while no answer was read"
        );
        let taken = sent.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            taken < 1_000,
            "{taken} frames taken while no answer was read"
        );
        // Once the client reads, every frame is answered.
        let mut client_in = BufReader::new(client_output);
        for n in 0..FRAMES {
            let answer = read_frame(&mut client_in).await.unwrap();
            let answer: Value = serde_json::from_slice(&answer.unwrap()).unwrap();
            assert_eq!(answer["error"]["code"], -32700, "answer {n}: {answer}");
        }
        writer.await.unwrap();
        drop(wire);
    }

    #[tokio::test]
    async fn the_server_keeps_reading_after_a_bad_frame() {
        let (client, client_side) = tokio::io::duplex(1 << 16);
        let (client_read, mut client_write) = tokio::io::split(client);
        let (guard_read, guard_write) = tokio::io::split(client_side);
        let mut wire = guard(guard_read, guard_write);
        let good = frame(&body(json!({"jsonrpc": "2.0", "id": 2, "method": "m"})));
        let mut sent = frame(b"{oops");
        sent.extend_from_slice(&good);
        client_write.write_all(&sent).await.unwrap();
        // The server sees only the good message.
        let mut server_in = BufReader::new(&mut wire.input);
        let passed = read_frame(&mut server_in).await.unwrap().unwrap();
        assert_eq!(frame(&passed), good);
        // The bad one was answered with a parse error.
        let mut client_in = BufReader::new(client_read);
        let answer: Value =
            serde_json::from_slice(&read_frame(&mut client_in).await.unwrap().unwrap()).unwrap();
        assert_eq!(answer["error"]["code"], -32700);
        // The server's frames pass through whole.
        let from_server = frame(b"{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":null}");
        wire.output.write_all(&from_server[..10]).await.unwrap();
        wire.output.write_all(&from_server[10..]).await.unwrap();
        let echoed = read_frame(&mut client_in).await.unwrap().unwrap();
        assert_eq!(frame(&echoed), from_server);
        drop(wire.output);
        tokio::time::timeout(std::time::Duration::from_secs(5), wire.flushed)
            .await
            .unwrap()
            .unwrap();
    }
}
