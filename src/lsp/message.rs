//! A client frame's body decoded, once, into the JSON-RPC message the
//! service takes, or into the error answer it gets instead.
//!
//! The rules that keep one bad frame from ending the session:
//! - invalid UTF-8 and lone UTF-16 surrogate escapes (`"\ud800"`) become
//!   U+FFFD, and the message goes on;
//! - a body that still is not a JSON-RPC message is answered with a
//!   JSON-RPC error: `-32700` (parse error, `id: null`) when it is not JSON,
//!   `-32600` (invalid request, with its `id` when it has one) when it is
//!   JSON of the wrong shape.
//!
//! A good message is read in one pass straight into tower-lsp-server's
//! [`Request`] or [`Response`]; the repairs and the error classification
//! run only on a body that pass refused. Nothing here logs message contents.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};

use super::framing::MAX_FRAME;

/// A message from the client.
#[derive(Debug, PartialEq)]
pub enum Incoming {
    /// A request or a notification, for the service.
    Request(Request),
    /// The client's answer to one of the server's requests.
    Response(Response),
}

/// A body after decoding.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    Message(Incoming),
    /// Not a JSON-RPC message: the error answer to send back.
    Invalid(Response),
}

/// Decodes a frame's body; see the module documentation.
pub fn decode(body: &[u8]) -> Decoded {
    if let Ok(message) = serde_json::from_slice::<Incoming>(body) {
        return Decoded::Message(message);
    }
    let mut text = match std::str::from_utf8(body) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            tracing::warn!(
                "a message from the client is not valid UTF-8; the invalid bytes became U+FFFD"
            );
            String::from_utf8_lossy(body).into_owned()
        }
    };
    if replace_lone_surrogates(&mut text) {
        tracing::warn!(
            "a message from the client has lone UTF-16 surrogate escapes; they became U+FFFD"
        );
    }
    if let Ok(message) = serde_json::from_str::<Incoming>(&text) {
        return Decoded::Message(message);
    }
    Decoded::Invalid(error_answer(&text))
}

/// The error answer to a body that is not a JSON-RPC message.
fn error_answer(text: &str) -> Response {
    match serde_json::from_str::<Value>(text) {
        Err(err) => {
            tracing::warn!(
                "answered a message from the client that is not JSON ({:?} error at line {}, column {}) with a parse error",
                err.classify(),
                err.line(),
                err.column()
            );
            Response::from_error(
                Id::Null,
                error(
                    ErrorCode::ParseError,
                    "Parse error: the message is not JSON".into(),
                ),
            )
        }
        Ok(value) => {
            tracing::warn!(
                "answered a message from the client that is not a JSON-RPC 2.0 message with an invalid-request error"
            );
            Response::from_error(
                id_of(&value),
                error(
                    ErrorCode::InvalidRequest,
                    "Invalid request: not a JSON-RPC 2.0 request, notification or response".into(),
                ),
            )
        }
    }
}

/// The answer to a frame over [`MAX_FRAME`] whose first bytes are `head`:
/// an invalid-request error when its start shows a request (a `method` and
/// an `id`); a notification or a response gets none (JSON-RPC answers
/// neither), only a log line.
pub fn refusal(length: usize, head: &[u8]) -> Option<Response> {
    let start = FrameHead::read(head);
    match start.id {
        Some(id) if start.is_request => {
            tracing::warn!(
                "refused a request from the client of {length} bytes, over the limit of {MAX_FRAME} bytes"
            );
            Some(Response::from_error(
                id,
                error(
                    ErrorCode::InvalidRequest,
                    format!(
                        "Invalid request: the message is too large ({length} bytes; the limit is {MAX_FRAME} bytes)"
                    )
                    .into(),
                ),
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

fn error(code: ErrorCode, message: Cow<'static, str>) -> Error {
    Error {
        code,
        message,
        data: None,
    }
}

/// A message's `id` when it is one a response can carry back.
fn id_of(value: &Value) -> Id {
    value.get("id").and_then(as_id).unwrap_or(Id::Null)
}

/// `value` as a request id: a string or a number that fits one.
fn as_id(value: &Value) -> Option<Id> {
    match value {
        Value::Number(n) => n.as_i64().map(Id::Number),
        Value::String(s) => Some(Id::String(s.clone())),
        _ => None,
    }
}

/// Read as JSON-RPC 2.0 defines it: `jsonrpc` is `"2.0"`; a `method` (a
/// string) makes a request or notification (`id` a number, string or null
/// when present, `params` any value); otherwise exactly one of `result` and
/// `error` with an `id` makes a response. A message with neither is a
/// request with an empty method, as tower-lsp-server reads it (answered
/// "method not found" when it has an `id`). No known field may appear
/// twice; unknown fields are skipped.
impl<'de> Deserialize<'de> for Incoming {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(IncomingVisitor)
    }
}

struct IncomingVisitor;

/// A string, borrowed when it has no escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// The fields of a message, as they are read.
#[derive(Default)]
struct Fields {
    version: bool,
    method: Option<String>,
    params: Option<Value>,
    id: Option<Id>,
    result: Option<Value>,
    error: Option<Error>,
}

fn set<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &'static str) -> Result<(), E> {
    match slot.replace(value) {
        Some(_) => Err(E::duplicate_field(name)),
        None => Ok(()),
    }
}

impl<'de> Visitor<'de> for IncomingVisitor {
    type Value = Incoming;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-RPC 2.0 message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Incoming, A::Error> {
        let mut fields = Fields::default();
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "jsonrpc" => {
                    if std::mem::replace(&mut fields.version, true) {
                        return Err(de::Error::duplicate_field("jsonrpc"));
                    }
                    let Text(version) = map.next_value()?;
                    if version != "2.0" {
                        return Err(de::Error::custom("expected JSON-RPC version \"2.0\""));
                    }
                }
                "method" => {
                    let Text(method) = map.next_value()?;
                    set(&mut fields.method, method.into_owned(), "method")?;
                }
                "params" => set(&mut fields.params, map.next_value()?, "params")?,
                "id" => set(&mut fields.id, map.next_value()?, "id")?,
                "result" => set(&mut fields.result, map.next_value()?, "result")?,
                "error" => set(&mut fields.error, map.next_value()?, "error")?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !fields.version {
            return Err(de::Error::missing_field("jsonrpc"));
        }
        message(fields)
    }
}

fn message<E: de::Error>(fields: Fields) -> Result<Incoming, E> {
    let Fields {
        method,
        params,
        id,
        result,
        error,
        ..
    } = fields;
    let answer = match (result, error) {
        (None, None) => None,
        (Some(result), None) => Some(Ok(result)),
        (None, Some(error)) => Some(Err(error)),
        (Some(_), Some(_)) => {
            return Err(E::custom("a response has a result or an error, not both"));
        }
    };
    match (method, answer) {
        (Some(_), Some(_)) => Err(E::custom("a message has a method or a result, not both")),
        (None, Some(answer)) => {
            let id = id.ok_or_else(|| E::missing_field("id"))?;
            Ok(Incoming::Response(Response::from_parts(id, answer)))
        }
        (method, None) => {
            let mut request = Request::build(method.unwrap_or_default());
            if let Some(params) = params {
                request = request.params(params);
            }
            if let Some(id) = id {
                request = request.id(id);
            }
            Ok(Incoming::Request(request.finish()))
        }
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

/// What the start of a frame tells of it: its `id` and whether it has a
/// `method`, read from its top-level keys up to where the start is cut off.
#[derive(Debug, Default, PartialEq)]
struct FrameHead {
    id: Option<Id>,
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

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON-RPC message")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key()? {
            match key.as_ref() {
                "id" => {
                    let id: Value = map.next_value()?;
                    if let Some(id) = as_id(&id) {
                        self.0.id = Some(id);
                    }
                }
                "method" => {
                    map.next_value::<Text>()?;
                    self.0.is_request = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    /// The error answer as the client reads it.
    fn answer(decoded: Decoded) -> Value {
        match decoded {
            Decoded::Invalid(response) => serde_json::to_value(response).unwrap(),
            other => panic!("expected an error answer, got {other:?}"),
        }
    }

    fn request(decoded: Decoded) -> Request {
        match decoded {
            Decoded::Message(Incoming::Request(request)) => request,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn good_messages_decode_to_what_they_say() {
        let shutdown = request(decode(&body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "shutdown"}),
        )));
        assert_eq!(shutdown, Request::build("shutdown").id(1).finish());
        let response = decode(&body(json!({"jsonrpc": "2.0", "id": 3, "result": null})));
        assert_eq!(
            response,
            Decoded::Message(Incoming::Response(Response::from_ok(3.into(), Value::Null)))
        );
        let pair = br#"{"jsonrpc":"2.0","method":"x","params":"\ud83d\ude00 \\ud800"}"#;
        assert_eq!(
            request(decode(pair)).params(),
            Some(&json!("\u{1F600} \\ud800"))
        );
    }

    #[test]
    fn invalid_utf8_and_lone_surrogates_become_replacement_characters() {
        let mut raw = br#"{"jsonrpc":"2.0","method":"x","params":{"text":"a"#.to_vec();
        raw.extend_from_slice(b"\xff\xfe");
        raw.extend_from_slice(br#"b\ud800c\udc00d\ud800\u0041"}}"#);
        let repaired = request(decode(&raw));
        assert_eq!(
            repaired.params().unwrap()["text"],
            "a\u{fffd}\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}A"
        );
    }

    #[test]
    fn what_is_not_a_message_is_answered_with_an_error() {
        let parse = answer(decode(b"{\"jsonrpc\": "));
        assert_eq!(parse["error"]["code"], -32700);
        assert_eq!(parse["id"], Value::Null);
        let invalid = answer(decode(&body(
            json!({"jsonrpc": "2.0", "id": 7, "method": 5}),
        )));
        assert_eq!(invalid["error"]["code"], -32600);
        assert_eq!(invalid["id"], 7);
        let batch = answer(decode(&body(json!([{"jsonrpc": "2.0", "method": "x"}]))));
        assert_eq!(batch["error"]["code"], -32600);
        let version = answer(decode(&body(
            json!({"jsonrpc": "1.0", "id": "a", "method": "x"}),
        )));
        assert_eq!(version["id"], "a");
        let mut deep = String::from(r#"{"jsonrpc":"2.0","method":"x","params":"#);
        deep.push_str(&"[".repeat(200));
        deep.push_str(&"]".repeat(200));
        deep.push('}');
        // Deeper than any JSON reader here goes: not JSON we can read.
        assert_eq!(answer(decode(deep.as_bytes()))["error"]["code"], -32700);
    }

    /// The cases of the old check in front of tower-lsp-server's reading:
    /// what it read, the one reading still reads, and what it refused is
    /// refused.
    #[test]
    fn messages_are_read_as_json_rpc_defines_them() {
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
            (r#"{"jsonrpc":"2.0","method":"x","params":[1e400]}"#, false),
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
            (r#"{"jsonrpc":"2.0","result":1}"#, false),
            (
                r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#,
                false,
            ),
            (r#"{"jsonrpc":"2.0","id":1,"error":{"code":1}}"#, false),
        ];
        for (text, valid) in cases {
            let read = serde_json::from_str::<Incoming>(text).is_ok();
            assert_eq!(read, valid, "{text}");
            assert_eq!(
                matches!(decode(text.as_bytes()), Decoded::Message(_)),
                valid,
                "{text}"
            );
        }
    }

    /// Mutated messages: each one decodes to a message or is answered, and
    /// a message decoded is the one the mutated text holds.
    #[test]
    fn mutated_messages_decode_or_get_an_answer() {
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
            match decode(&bytes) {
                Decoded::Message(Incoming::Request(request)) => {
                    passed += 1;
                    // What the service is given serializes back to JSON.
                    let value = serde_json::to_value(&request).unwrap();
                    assert_eq!(value["jsonrpc"], "2.0");
                }
                Decoded::Message(Incoming::Response(_)) => passed += 1,
                Decoded::Invalid(response) => {
                    answered += 1;
                    let code = response.error().map(|e| e.code.code());
                    assert!(matches!(code, Some(-32700 | -32600)), "{code:?}");
                }
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

    #[test]
    fn a_frames_start_tells_its_id_only_for_a_request() {
        let request = FrameHead::read(br#"{"jsonrpc":"2.0","id":7,"method":"x","params":{"a":"#);
        assert_eq!(
            request,
            FrameHead {
                id: Some(Id::Number(7)),
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
        let refused = serde_json::to_value(refusal(
            MAX_FRAME + 1,
            br#"{"id":"r","method":"m","params":{"#,
        ))
        .unwrap();
        assert_eq!(refused["id"], "r");
        assert_eq!(refused["error"]["code"], -32600);
    }
}
