//! Fault injection: an app-server that writes garbage or truncated lines,
//! or exits right after `initialize`; many runs at once; cancel storms and
//! cancels of unknown runs. Each ends with the documented outcome in
//! bounded time.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use codex_ls::codex::Launcher;
use serde_json::{Value, json};
use support::editor::streamed_text;
use support::harness::{Harness, ScriptedLauncher, WAIT};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How the scripted app-server misbehaves once a turn starts.
#[derive(Clone, Copy)]
enum Script {
    /// Exits right after answering `initialize`.
    ExitAfterInitialize,
    /// Streams garbage between valid messages, then answers "Hello".
    GarbageAroundAnswer,
    /// Writes half a line and exits.
    TruncatedLine,
    /// Streams a delta and then nothing: the turn hangs until interrupted.
    Hang,
}

async fn play(script: Script, io: tokio::io::DuplexStream) {
    let (read, mut write) = tokio::io::split(io);
    let mut lines = BufReader::new(read).lines();
    let mut turns = 0;
    let mut threads = 0;
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let id = message["id"].clone();
        let reply = |result: Value| format!("{}\n", json!({"id": id, "result": result}));
        let send = match message["method"].as_str() {
            Some("initialize") => reply(json!({"userAgent": "fake/0.169.0 (test)"})),
            Some("thread/start") => {
                threads += 1;
                reply(json!({"thread": {"id": format!("th{threads}")}}))
            }
            Some("turn/interrupt") => {
                let (thread, turn) = (&message["params"]["threadId"], &message["params"]["turnId"]);
                let done = json!({"method": "turn/completed", "params": {"threadId": thread,
                    "turn": {"id": turn, "status": "interrupted", "error": null, "items": []}}});
                format!("{}{done}\n", reply(json!({})))
            }
            Some("turn/start") => {
                turns += 1;
                let turn = format!("tu{turns}");
                let th = message["params"]["threadId"].clone();
                let started = reply(json!({"turn": {"id": turn, "status": "inProgress"}}));
                let delta = |text: &str| {
                    json!({"method": "item/agentMessage/delta",
                        "params": {"threadId": th, "turnId": turn, "itemId": "m", "delta": text}})
                    .to_string()
                };
                match script {
                    Script::GarbageAroundAnswer => {
                        let completed = json!({"method": "turn/completed", "params": {"threadId": th,
                            "turn": {"id": turn, "status": "completed", "error": null,
                                "items": [{"type": "agentMessage", "id": "m", "text": "Hello"}]}}});
                        let bad_delta = json!({"method": "item/agentMessage/delta",
                            "params": {"threadId": th, "turnId": turn, "itemId": 5, "delta": null}});
                        format!(
                            "{started}not json\n{{\"broken\": \n[1,2]\n{{}}\n{bad_delta}\n{}\n\n{}\n{completed}\n",
                            delta("Hel"),
                            delta("lo")
                        )
                    }
                    Script::TruncatedLine => {
                        let line = format!("{started}{}", delta("partial"));
                        let _ = write.write_all(&line.as_bytes()[..line.len() - 5]).await;
                        return;
                    }
                    Script::Hang => format!("{started}{}\n", delta("waiting")),
                    Script::ExitAfterInitialize => return,
                }
            }
            _ => continue,
        };
        if write.write_all(send.as_bytes()).await.is_err() {
            return;
        }
        if matches!(script, Script::ExitAfterInitialize) && message["method"] == "initialize" {
            return;
        }
    }
}

/// A streaming client whose app-server plays `script`.
async fn start(script: Script) -> Harness<impl Launcher> {
    Harness::start(ScriptedLauncher(move |io| play(script, io))).await
}

/// Opens `name`, the same on disk.
async fn open(h: &mut Harness<impl Launcher>, name: &str) -> String {
    h.open(name, "x\n", Some("x\n")).await
}

async fn run(h: &mut Harness<impl Launcher>, uri: &str, token: &str) -> Value {
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": token}))
        .await
}

/// (reports, end) of the run on `token`.
async fn until_end(h: &mut Harness<impl Launcher>, token: &str) -> (Vec<Value>, Value) {
    h.rest_until_end(&json!(token)).await
}

#[tokio::test]
async fn garbage_from_the_app_server_is_skipped_and_the_answer_still_arrives() {
    let mut h = start(Script::GarbageAroundAnswer).await;
    let uri = open(&mut h, "a.rs").await;
    run(&mut h, &uri, "g").await;
    let (reports, end) = until_end(&mut h, "g").await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(streamed_text(&reports), "Hello");
    h.finish().await;
}

#[tokio::test]
async fn a_truncated_line_and_exit_fail_the_run_as_backend_unavailable() {
    let mut h = start(Script::TruncatedLine).await;
    let uri = open(&mut h, "a.rs").await;
    run(&mut h, &uri, "t").await;
    let (_, end) = until_end(&mut h, "t").await;
    assert_eq!(
        end["codex"]["error"]["code"], "backend-unavailable",
        "{end}"
    );
    let diagnostics = h
        .client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    assert_eq!(diagnostics["diagnostics"][0]["code"], "backend-unavailable");
}

#[tokio::test]
async fn an_app_server_that_exits_after_initialize_fails_the_run() {
    let mut h = start(Script::ExitAfterInitialize).await;
    let uri = open(&mut h, "a.rs").await;
    run(&mut h, &uri, "e").await;
    let (_, end) = until_end(&mut h, "e").await;
    assert_eq!(
        end["codex"]["error"]["code"], "backend-unavailable",
        "{end}"
    );
    h.client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
}

#[tokio::test]
async fn a_hundred_runs_at_once_all_end_and_a_hundred_cancels_end_one_run_once() {
    let mut h = start(Script::Hang).await;
    let mut uris = Vec::new();
    for n in 0..100 {
        uris.push(open(&mut h, &format!("f{n}.rs")).await);
    }
    let started = Instant::now();
    let mut run_ids = Vec::new();
    for (n, uri) in uris.iter().enumerate() {
        run_ids.push(run(&mut h, uri, &format!("r{n}")).await["runId"].clone());
    }
    // Every run is in flight; a hundred cancels of the first, by id and by token.
    for _ in 0..50 {
        h.command("codex.cancel", json!({"runId": run_ids[0]}))
            .await
            .unwrap();
        h.client
            .notify("window/workDoneProgress/cancel", json!({"token": "r0"}))
            .await;
    }
    let (_, end) = until_end(&mut h, "r0").await;
    assert_eq!(end["codex"]["status"], "interrupted");
    // Cancelling every document's runs ends the other 99.
    for uri in &uris[1..] {
        h.command("codex.cancel", json!({"textDocument": {"uri": uri}}))
            .await
            .unwrap();
    }
    for n in 1..100 {
        let (_, end) = until_end(&mut h, &format!("r{n}")).await;
        assert_eq!(end["codex"]["status"], "interrupted", "run {n}: {end}");
    }
    println!(
        "100 runs started, cancelled and ended in {:?}",
        started.elapsed()
    );
    // codex.status takes no argument; an argument of null is accepted too.
    h.command("codex.status", Value::Null)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    h.status_when_idle().await;
    h.client.drain(Duration::from_millis(100)).await;
    let ends = h
        .client
        .take_notifications("$/progress")
        .into_iter()
        .filter(|p| p["value"]["kind"] == "end")
        .count();
    assert_eq!(ends, 0, "each run ends exactly once");
    assert!(
        h.client
            .take_notifications("textDocument/publishDiagnostics")
            .is_empty(),
        "cancels publish nothing"
    );
}

#[tokio::test]
async fn cancel_of_an_unknown_run_cancels_nothing() {
    let mut h = start(Script::Hang).await;
    let answer = h
        .command("codex.cancel", json!({"runId": 424242}))
        .await
        .unwrap();
    assert_eq!(answer, json!({"cancelled": []}));
    let answer = h
        .command("codex.cancel", json!({"token": "never-used"}))
        .await
        .unwrap();
    assert_eq!(answer, json!({"cancelled": []}));
    let error = h.command("codex.cancel", json!({})).await.unwrap_err();
    assert_eq!(error["code"], -32602);
}

#[tokio::test]
async fn bad_client_input_gets_errors_or_clamps_and_the_server_keeps_serving() {
    let mut h = start(Script::GarbageAroundAnswer).await;
    let uri = open(&mut h, "a.rs").await;
    let reversed =
        json!({"start": {"line": 0, "character": 1}, "end": {"line": 0, "character": 0}});
    let error = h
        .command(
            "codex.run",
            json!({"textDocument": {"uri": uri}, "range": reversed, "prompt": "Go"}),
        )
        .await
        .unwrap_err();
    assert_eq!(error["code"], -32602, "{error}");
    let wrong_type = h
        .command(
            "codex.run",
            json!({"textDocument": {"uri": uri}, "prompt": 5}),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong_type["code"], -32602);
    let unknown = h.command("codex.nope", json!({})).await.unwrap_err();
    assert_eq!(unknown["code"], -32602);
    let missing = h
        .client
        .request("workspace/executeCommand", json!({"command": "codex.run"}))
        .await
        .unwrap_err();
    assert_eq!(missing["code"], -32602);
    let bad_params = h
        .client
        .request("textDocument/codeAction", json!({"textDocument": 3}))
        .await
        .unwrap_err();
    assert_eq!(bad_params["code"], -32602);
    // A change to an unknown document and a malformed change are ignored.
    h.client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": "file:///nowhere.rs", "version": 2}, "contentChanges": [{"text": "x"}]}),
        )
        .await;
    h.client
        .notify("textDocument/didChange", json!({"textDocument": 1}))
        .await;
    // Binary content and positions far past the end are taken as they come.
    let binary = "\u{0}\u{1}\u{7f}\u{fffd}ÿ\r\r\n\u{2028}";
    h.client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
                {"range": {"start": {"line": 99, "character": 99}, "end": {"line": 100, "character": 0}}, "text": binary}]}),
        )
        .await;
    let far =
        json!({"start": {"line": 0, "character": 0}, "end": {"line": 1000, "character": 1000}});
    let args = json!({"textDocument": {"uri": uri}, "range": far, "prompt": "Go", "progressToken": "after"});
    h.command("codex.run", args)
        .await
        .expect("the server keeps serving");
    let (_, end) = until_end(&mut h, "after").await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    h.client.allow_unclaimed("window/logMessage");
    h.client
        .take_notifications("textDocument/publishDiagnostics");
}
