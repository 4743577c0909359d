//! The fuzz harnesses of `src/fuzzing/` as a bounded part of the test
//! suite: each property feeds proptest's inputs through the same code as
//! the cargo-fuzz target of the same name in `fuzz/`, and the committed
//! seed corpus (`fuzz/corpus/<target>/`) is replayed through it. The long,
//! coverage-guided runs are described in `fuzz/README.md`.
//!
//! (a) `document_store`: random edit sequences in every position encoding,
//! the store against a naive `String` model. (b) `lsp_messages`: structured
//! LSP messages, arbitrary JSON and raw bytes into the server. (c)
//! `app_server_lines`: scripted app-server lines around prompt runs.
//! Inputs are random on every run; a failure prints the shrunk input,
//! which belongs in the corpus once the bug is fixed.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use codex_ls::fuzzing::{Finding, app_server_lines, document_store, lsp_messages};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

/// The runtime the async harnesses need: one thread, paused clock.
fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a tokio runtime")
}

fn run_lsp_messages(data: &[u8]) -> Result<(), Finding> {
    paused_runtime()
        .block_on(lsp_messages::run(data))
        .map(|_| ())
}

fn run_app_server_lines(data: &[u8]) -> Result<(), Finding> {
    paused_runtime()
        .block_on(app_server_lines::run(data))
        .map(|_| ())
}

/// One fuzz target's harness, run to its verdict.
type Harness = fn(&[u8]) -> Result<(), Finding>;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

/// Every seed of a target's committed corpus.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir(target);
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            (path, data)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus in {}", dir.display());
    files
}

#[test]
fn the_committed_corpus_finds_nothing() {
    let targets: [(&str, Harness); 3] = [
        ("document_store", document_store::run),
        ("lsp_messages", run_lsp_messages),
        ("app_server_lines", run_app_server_lines),
    ];
    for (target, run) in targets {
        for (path, data) in corpus(target) {
            assert_eq!(run(&data), Ok(()), "{}", path.display());
        }
    }
}

fn seed(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(corpus_dir(target).join(name)).unwrap()
}

fn app_server_outcome(seed_name: &str) -> app_server_lines::Outcome {
    let script = seed("app_server_lines", seed_name);
    paused_runtime()
        .block_on(app_server_lines::run(&script))
        .unwrap()
}

/// The seeds reach deep: the server answers the session's requests, and
/// the app-server script gets answers through to the end of a turn.
#[test]
fn the_seeds_reach_the_code_they_are_for() {
    let session = seed("lsp_messages", "session_utf16");
    let transcript = paused_runtime()
        .block_on(lsp_messages::run(&session))
        .unwrap();
    // initialize, codeAction, three commands, cancel and shutdown: 7.
    assert_eq!(transcript.responses, 7, "{transcript:?}");
    let sent = |method: &str| transcript.sent.get(method).copied().unwrap_or(0);
    // The configuration pull after `initialized`.
    assert_eq!(sent("workspace/configuration"), 1, "{transcript:?}");
    // Two runs stream (one on a token the server creates), fail for want
    // of Codex, and publish a diagnostic each.
    assert_eq!(sent("window/workDoneProgress/create"), 1, "{transcript:?}");
    assert!(sent("$/progress") >= 4, "{transcript:?}");
    assert!(
        sent("textDocument/publishDiagnostics") >= 2,
        "{transcript:?}"
    );

    let outcome = app_server_outcome("three_runs");
    assert_eq!(outcome.runs.len(), 3);
    assert_eq!(outcome.runs[0], Ok("Hello".to_string()));
    assert_eq!(outcome.runs[1], Ok("Second".to_string()));
    assert!(
        matches!(&outcome.runs[2], Err(code) if code.starts_with("unauthorized")),
        "{outcome:?}"
    );

    // Completed messages that differ from what streamed: the answers are
    // the completed texts (and the harness checked the corrections).
    let outcome = app_server_outcome("corrections");
    let answers: Vec<Result<&str, &str>> = outcome
        .runs
        .iter()
        .map(|run| run.as_deref().map_err(String::as_str))
        .collect();
    assert_eq!(answers, [Ok("Hello there"), Ok("xyz"), Ok("first")]);
}

// ---- (b) what an editor may send ----

const PIECES: &[&str] = &[
    "a", "fn ", "é", "😀", "𝄞", "\n", "\r", "\r\n", "\u{2028}", "\t", "\"", "\\", "\0",
];

fn text() -> impl Strategy<Value = String> {
    vec(select(PIECES), 0..8).prop_map(|pieces| pieces.concat())
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just("untitled:a".to_string()),
        2 => Just("file:///tmp/codex-ls-fuzz/b.rs".to_string()),
        1 => Just("file:///".to_string()),
        1 => "[a-z:/%]{0,12}",
    ]
}

fn number() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0..6u32, 1 => any::<u32>()]
}

fn position() -> impl Strategy<Value = Value> {
    (number(), number()).prop_map(|(line, character)| json!({"line": line, "character": character}))
}

fn range() -> impl Strategy<Value = Value> {
    (position(), position()).prop_map(|(start, end)| json!({"start": start, "end": end}))
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (0..20i64).prop_map(Value::from),
        2 => "[a-z0-9]{0,3}".prop_map(Value::from),
        1 => Just(Value::Null),
        1 => Just(json!([1])),
    ]
}

/// A JSON value of any shape, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::from),
            vec(("[a-zA-Z]{1,8}", inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn config() -> impl Strategy<Value = Value> {
    let key = select(&[
        "codexPath",
        "model",
        "effort",
        "sandbox",
        "approvalPolicy",
        "timeoutSecs",
        "progressIntervalMs",
        "inlineSelectionLimit",
        "allowPrivilegedEscalation",
        "unknown",
    ]);
    let value = prop_oneof![
        Just(json!(null)),
        Just(json!("read-only")),
        Just(json!("danger-full-access")),
        Just(json!("on-request")),
        (0..20_000i64).prop_map(Value::from),
        any_json(),
    ];
    vec((key, value), 0..4).prop_map(|fields| {
        Value::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key.to_string(), value))
                .collect(),
        )
    })
}

fn initialize() -> impl Strategy<Value = Value> {
    let encodings = vec(select(&["utf-8", "utf-16", "utf-32", "latin-1"]), 0..3);
    (
        encodings,
        any::<[bool; 4]>(),
        proptest::option::of(config()),
        proptest::option::of(uri()),
    )
        .prop_map(|(encodings, support, options, folder)| {
            let [progress, show_document, configuration, apply_edit] = support;
            let mut params = json!({"capabilities": {
                "general": {"positionEncodings": encodings},
                "window": {"workDoneProgress": progress, "showDocument": {"support": show_document}},
                "workspace": {"configuration": configuration, "applyEdit": apply_edit},
            }});
            if let Some(options) = options {
                params["initializationOptions"] = options;
            }
            if let Some(folder) = folder {
                params["workspaceFolders"] = json!([{"uri": folder, "name": "ws"}]);
            }
            params
        })
}

fn change() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => (range(), text()).prop_map(|(range, text)| json!({"range": range, "text": text})),
        1 => text().prop_map(|text| json!({"text": text})),
    ]
}

/// The commands, with the argument fields each requires and allows
/// (src/lsp/ext.rs): arguments are mostly valid, so runs start.
const COMMANDS: &[(&str, &[&str], &[&str])] = &[
    (
        "codex.run",
        &["textDocument", "prompt"],
        &[
            "range",
            "newThread",
            "model",
            "effort",
            "progressToken",
            "scope",
        ],
    ),
    (
        "codex.explain",
        &["textDocument"],
        &["range", "newThread", "progressToken", "scope"],
    ),
    (
        "codex.rewrite",
        &["textDocument", "range"],
        &["preset", "instruction", "preview", "progressToken", "scope"],
    ),
    (
        "codex.fix",
        &["textDocument", "range"],
        &["diagnostics", "preview", "progressToken", "scope"],
    ),
    (
        "codex.tests",
        &["textDocument", "range"],
        &["mode", "preview", "progressToken", "scope"],
    ),
    (
        "codex.review",
        &["textDocument"],
        &["range", "progressToken", "scope"],
    ),
    (
        "codex.action",
        &["textDocument", "title"],
        &[
            "range",
            "instruction",
            "diagnostics",
            "preview",
            "progressToken",
            "scope",
        ],
    ),
    ("codex.clearReview", &["textDocument"], &[]),
    ("codex.newThread", &[], &["textDocument", "scope"]),
    ("codex.cancel", &[], &["runId", "token", "textDocument"]),
    ("codex.status", &[], &[]),
    ("codex.applyProposal", &["runId"], &["hunks"]),
    ("codex.discardProposal", &["runId"], &[]),
    ("codex.unknown", &[], &["x"]),
];

fn token() -> impl Strategy<Value = Value> {
    prop_oneof![
        select(&["t1", "t2", ""]).prop_map(Value::from),
        (0..3i64).prop_map(Value::from),
    ]
}

fn field(name: &'static str) -> BoxedStrategy<Value> {
    match name {
        "textDocument" => (uri(), proptest::option::of(0..4i32))
            .prop_map(|(uri, version)| match version {
                Some(version) => json!({"uri": uri, "version": version}),
                None => json!({"uri": uri}),
            })
            .boxed(),
        "prompt" | "title" | "instruction" | "model" | "effort" => text().prop_map(Value::from).boxed(),
        "range" => range().boxed(),
        "newThread" | "preview" => any::<bool>().prop_map(Value::from).boxed(),
        "progressToken" | "token" => token().boxed(),
        "scope" => select(&["document", "document", "workspace", "folder"]).prop_map(Value::from).boxed(),
        "preset" => select(&["improve", "simplify", "document", "shorten"]).prop_map(Value::from).boxed(),
        "mode" => select(&["answer", "edit", "x"]).prop_map(Value::from).boxed(),
        "diagnostics" => vec(
            (range(), text(), 1..5u8).prop_map(|(range, message, severity)| {
                json!({"range": range, "message": message, "severity": severity, "code": "E1"})
            }),
            0..3,
        )
        .prop_map(Value::from)
        .boxed(),
        "runId" => (0..5u64).prop_map(Value::from).boxed(),
        "hunks" => vec(0..4u64, 0..3).prop_map(Value::from).boxed(),
        _ => any_json().boxed(),
    }
}

/// `workspace/executeCommand` params: the required fields, some optional
/// ones, now and then a field the command does not know or a wrong number
/// of arguments.
fn execute_command() -> impl Strategy<Value = Value> {
    select(COMMANDS).prop_flat_map(|(command, required, optional)| {
        let fields: Vec<BoxedStrategy<Option<(&'static str, Value)>>> = required
            .iter()
            .map(|&name| {
                field(name)
                    .prop_map(move |value| Some((name, value)))
                    .boxed()
            })
            .chain(optional.iter().map(|&name| {
                proptest::option::of(field(name).prop_map(move |value| (name, value))).boxed()
            }))
            .chain(std::iter::once(
                proptest::option::weighted(0.05, any_json().prop_map(|value| ("junk", value)))
                    .boxed(),
            ))
            .collect();
        (fields, 0..20u8).prop_map(move |(fields, count)| {
            let argument = Value::Object(
                fields
                    .into_iter()
                    .flatten()
                    .map(|(name, value)| (name.to_string(), value))
                    .collect(),
            );
            let arguments = match count {
                0 => json!([]),
                1 => json!([argument, {}]),
                _ => json!([argument]),
            };
            json!({"command": command, "arguments": arguments})
        })
    })
}

/// A request or notification to the server, or a response to one of its
/// requests, as a JSON-RPC body.
fn lsp_message() -> impl Strategy<Value = Value> {
    let call = |method: &'static str, params: Value| (method, params);
    let calls = prop_oneof![
        1 => initialize().prop_map(move |p| call("initialize", p)),
        1 => Just(call("initialized", json!({}))),
        1 => (uri(), text(), any::<i32>()).prop_map(move |(uri, text, version)| call(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "rust", "version": version, "text": text}})
        )),
        2 => (uri(), any::<i32>(), vec(change(), 0..4)).prop_map(move |(uri, version, changes)| call(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes})
        )),
        1 => uri().prop_map(move |uri| call(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}})
        )),
        1 => (uri(), range(), proptest::option::of(vec(select(&["quickfix", "refactor", ""]), 0..2)))
            .prop_map(move |(uri, range, only)| call(
                "textDocument/codeAction",
                json!({"textDocument": {"uri": uri}, "range": range,
                    "context": {"diagnostics": [], "only": only}})
            )),
        6 => execute_command().prop_map(move |params| call("workspace/executeCommand", params)),
        1 => config().prop_map(move |settings| call(
            "workspace/didChangeConfiguration",
            json!({"settings": {"codex": settings}})
        )),
        1 => (vec(uri(), 0..2), vec(uri(), 0..2)).prop_map(move |(added, removed)| {
            let folders = |uris: Vec<String>| {
                uris.into_iter()
                    .map(|uri| json!({"uri": uri, "name": "f"}))
                    .collect::<Vec<_>>()
            };
            call(
                "workspace/didChangeWorkspaceFolders",
                json!({"event": {"added": folders(added), "removed": folders(removed)}}),
            )
        }),
        1 => id().prop_map(move |token| call("window/workDoneProgress/cancel", json!({"token": token}))),
        1 => id().prop_map(move |id| call("$/cancelRequest", json!({"id": id}))),
        1 => Just(call("shutdown", Value::Null)),
        1 => Just(call("exit", Value::Null)),
        1 => any_json().prop_map(move |params| call("textDocument/hover", params)),
    ];
    prop_oneof![
        8 => (calls, proptest::option::weighted(0.9, id())).prop_map(|((method, params), id)| {
            let mut message = json!({"jsonrpc": "2.0", "method": method});
            if !params.is_null() {
                message["params"] = params;
            }
            if let Some(id) = id {
                message["id"] = id;
            }
            message
        }),
        1 => (0..6i64, any_json()).prop_map(|(id, result)| json!({"jsonrpc": "2.0", "id": id, "result": result})),
        1 => any_json(),
    ]
}

/// One input line (see `lsp_messages`): a framed body, or raw bytes.
fn editor_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        24 => lsp_message().prop_map(|message| message.to_string().into_bytes()),
        // Raw bytes, a header of its own, an empty line: each breaks the
        // framing of what follows.
        1 => vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..40)
            .prop_map(|raw| [b"RAW ".as_slice(), &raw].concat()),
        1 => (0..200usize).prop_map(|n| format!("RAW Content-Length: {n}").into_bytes()),
        1 => Just(b"RAW ".to_vec()),
        // An empty line: wait until the server is idle.
        6 => Just(Vec::new()),
    ]
}

fn editor_input() -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), initialize(), vec(editor_line(), 0..16)).prop_map(
        |(handshake, params, lines)| {
            let mut input = Vec::new();
            if handshake {
                let init =
                    json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": params});
                // The editor waits for the answer before `initialized`.
                input.extend_from_slice(format!("{init}\n\n").as_bytes());
                input.extend_from_slice(
                    b"{\"jsonrpc\":\"2.0\",\"method\":\"initialized\",\"params\":{}}\n",
                );
                // A document to run on.
                let open = json!({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                    "params": {"textDocument": {"uri": "untitled:a", "languageId": "rust",
                        "version": 1, "text": "fn main() {\n    println!(\"é😀\");\n}\n"}}});
                input.extend_from_slice(format!("{open}\n\n").as_bytes());
            }
            for line in lines {
                input.extend_from_slice(&line);
                input.push(b'\n');
            }
            input
        },
    )
}

// ---- (c) what an app-server may write ----

/// Mostly the thread and turn the script's skeleton starts.
fn thread_id() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just("th"), 1 => Just("th2"), 1 => Just("")]
}

fn turn_id() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just("tu1"), 1 => Just("tu2"), 1 => Just("x")]
}

fn item_id() -> impl Strategy<Value = &'static str> {
    select(&["m1", "m2", "m3"])
}

fn reply(result: Value) -> String {
    format!("{{\"id\":$ID,\"result\":{result}}}")
}

fn note(method: &str, params: Value) -> String {
    json!({"method": method, "params": params}).to_string()
}

fn turn_error() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        (text(), select(&["unauthorized", "usageLimitExceeded", "internalServerError", "other"]))
            .prop_map(|(message, info)| json!({"message": message, "codexErrorInfo": info})),
        (text(), prop_oneof![Just(401), Just(429), Just(500), 0..600i64]).prop_map(|(message, code)| json!(
            {"message": message, "codexErrorInfo": {"httpConnectionFailed": {"httpStatusCode": code}}}
        )),
    ]
}

fn turn_status() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        4 => Just("completed"),
        1 => Just("failed"),
        1 => Just("interrupted"),
        1 => Just("inProgress"),
        1 => Just("paused"),
    ]
}

/// What the app-server writes while a turn runs.
fn stream_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (thread_id(), turn_id(), item_id(), text()).prop_map(|(th, tu, item, delta)| note(
            "item/agentMessage/delta",
            json!({"threadId": th, "turnId": tu, "itemId": item, "delta": delta})
        )),
        2 => (thread_id(), turn_id(), item_id(), text()).prop_map(|(th, tu, item, text)| note(
            "item/completed",
            json!({"threadId": th, "turnId": tu, "item": {"type": "agentMessage", "id": item, "text": text}})
        )),
        2 => (thread_id(), turn_id(), turn_status(), turn_error(), proptest::option::of(text())).prop_map(
            |(th, tu, status, error, text)| {
                let items = match text {
                    Some(text) => json!([{"type": "agentMessage", "id": "m", "text": text}]),
                    None => json!([]),
                };
                note(
                    "turn/completed",
                    json!({"threadId": th, "turn": {"id": tu, "status": status, "error": error, "items": items}}),
                )
            }
        ),
        1 => (thread_id(), turn_error(), any::<bool>()).prop_map(|(th, error, retry)| note(
            "error",
            json!({"threadId": th, "turnId": "tu1", "error": error, "willRetry": retry})
        )),
        1 => (
            select(&[
                "item/commandExecution/requestApproval",
                "item/fileChange/requestApproval",
                "item/permissions/requestApproval",
                "item/tool/requestUserInput",
                "execCommandApproval",
            ]),
            thread_id(),
            any_json(),
        )
            .prop_map(|(method, th, extra)| json!({"id": "s1", "method": method,
                "params": {"threadId": th, "turnId": "tu1", "itemId": "c", "command": "ls",
                    "reason": "r", "grantRoot": extra}})
            .to_string()),
    ]
}

/// Any line: answers, stream lines, garbage, directives.
fn app_server_line() -> impl Strategy<Value = Vec<u8>> {
    let lines = prop_oneof![
        Just(reply(json!({"userAgent": "codex_cli_rs/0.169.0 (fuzz)"}))),
        thread_id().prop_map(|id| reply(json!({"thread": {"id": id}}))),
        (turn_id(), turn_status())
            .prop_map(|(id, status)| reply(json!({"turn": {"id": id, "status": status}}))),
        stream_line(),
        Just("{\"id\":$ID,\"error\":{\"code\":-32600,\"message\":\"no\"}}".to_string()),
        any_json().prop_map(|value| value.to_string()),
        any_json().prop_map(reply),
    ];
    prop_oneof![
        40 => lines.prop_map(String::into_bytes),
        3 => vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 1..30),
        1 => select(&["CANCEL", "HANG", "EXIT"]).prop_map(|d| d.as_bytes().to_vec()),
    ]
}

fn app_server_script() -> impl Strategy<Value = Vec<u8>> {
    (
        0..3u8,
        vec(stream_line(), 0..10),
        vec(vec(app_server_line(), 0..5), 0..12),
    )
        .prop_map(|(skeleton, stream, steps)| {
            let mut script = Vec::new();
            if skeleton > 0 {
                // initialize, initialized, thread/start: the run gets to its
                // turn.
                script.extend_from_slice(
                    format!(
                        "{}\n\n\n{}\n\n",
                        reply(json!({"userAgent": "codex_cli_rs/0.169.0 (fuzz)"})),
                        reply(json!({"thread": {"id": "th"}}))
                    )
                    .as_bytes(),
                );
            }
            if skeleton > 1 {
                // The turn starts and streams.
                let started = reply(json!({"turn": {"id": "tu1", "status": "inProgress"}}));
                script.extend_from_slice(format!("{started}\n").as_bytes());
                for line in stream {
                    script.extend_from_slice(format!("{line}\n").as_bytes());
                }
                script.push(b'\n');
            }
            for step in steps {
                for line in step {
                    script.extend_from_slice(&line);
                    script.push(b'\n');
                }
                script.push(b'\n');
            }
            script
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // A failure prints its shrunk input; it belongs in fuzz/corpus/.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn document_store_matches_the_string_model(data in vec(any::<u8>(), 0..1500)) {
        prop_assert_eq!(document_store::run(&data), Ok(()));
    }

    #[test]
    fn the_server_handles_whatever_the_editor_sends(input in editor_input()) {
        prop_assert_eq!(run_lsp_messages(&input), Ok(()), "{}", String::from_utf8_lossy(&input));
    }

    #[test]
    fn the_client_handles_whatever_the_app_server_writes(script in app_server_script()) {
        prop_assert_eq!(run_app_server_lines(&script), Ok(()), "{}", String::from_utf8_lossy(&script));
    }
}
