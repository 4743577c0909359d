//! A run obeys its cancel and its deadline in every phase: while the
//! app-server starts, while it is asked for a thread or a turn, while the
//! client is asked for its configuration, a progress token or an edit. A
//! cancel ends the run with `interrupted` within a second and publishes no
//! diagnostic; `timeoutSecs` counts from the command. In-process, against a
//! scripted app-server that holds its answer at a chosen request.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::harness::{
    FakeLauncher, Harness, ScriptedLauncher, WAIT, range, streaming_caps, transcript,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::{Notify, mpsc, watch};

/// A cancel must end a run within this.
const CANCEL_LIMIT: Duration = Duration::from_secs(1);

/// The request whose answer the scripted app-server holds back until the
/// test releases it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Hold {
    Initialize,
    ThreadStart,
    TurnStart,
}

/// A scripted app-server: answers like codex 0.169 ("Hello" to every turn,
/// `interrupted` to an interrupt), except that the answer to `hold` waits
/// for `release`. Records every message it receives.
struct Stage {
    hold: Hold,
    release: Notify,
    received: watch::Sender<Vec<Value>>,
}

impl Stage {
    fn new(hold: Hold) -> Arc<Stage> {
        Arc::new(Stage {
            hold,
            release: Notify::new(),
            received: watch::Sender::new(Vec::new()),
        })
    }

    /// Waits until a message with `method` arrived; returns it.
    async fn received(&self, method: &str) -> Value {
        let mut seen = self.received.subscribe();
        let found = tokio::time::timeout(
            WAIT,
            seen.wait_for(|seen| seen.iter().any(|m| m["method"] == method)),
        )
        .await
        .unwrap_or_else(|_| panic!("the app-server never received `{method}`"))
        .unwrap();
        found
            .iter()
            .find(|m| m["method"] == method)
            .unwrap()
            .clone()
    }

    fn count(&self, method: &str) -> usize {
        self.received
            .borrow()
            .iter()
            .filter(|m| m["method"] == method)
            .count()
    }
}

fn answer_to(request: &Value, thread: &str, turns: usize) -> String {
    let id = &request["id"];
    let reply = |result: Value| format!("{}\n", json!({"id": id, "result": result}));
    match request["method"].as_str() {
        Some("initialize") => reply(json!({"userAgent": "fake/0.169.0 (test)"})),
        Some("thread/start") => reply(json!({"thread": {"id": thread}})),
        Some("turn/start") => {
            let turn = format!("tu{turns}");
            let th = &request["params"]["threadId"];
            let delta = json!({"method": "item/agentMessage/delta",
                "params": {"threadId": th, "turnId": turn, "itemId": "m", "delta": "Hello"}});
            let done = json!({"method": "turn/completed", "params": {"threadId": th,
                "turn": {"id": turn, "status": "completed", "error": null,
                    "items": [{"type": "agentMessage", "id": "m", "text": "Hello"}]}}});
            format!(
                "{}{delta}\n{done}\n",
                reply(json!({"turn": {"id": turn, "status": "inProgress"}}))
            )
        }
        Some("turn/interrupt") => {
            let (th, turn) = (&request["params"]["threadId"], &request["params"]["turnId"]);
            let done = json!({"method": "turn/completed", "params": {"threadId": th,
                "turn": {"id": turn, "status": "interrupted", "error": null, "items": []}}});
            format!("{}{done}\n", reply(json!({})))
        }
        _ => String::new(),
    }
}

async fn play(stage: Arc<Stage>, io: tokio::io::DuplexStream) {
    let (read, mut write) = tokio::io::split(io);
    let (out, mut outgoing) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if write.write_all(text.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let mut lines = BufReader::new(read).lines();
    let mut turns = 0;
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        stage
            .received
            .send_modify(|seen| seen.push(message.clone()));
        if message["method"] == "turn/start" {
            turns += 1;
        }
        let answer = answer_to(&message, "th1", turns);
        let held = match message["method"].as_str() {
            Some("initialize") => stage.hold == Hold::Initialize,
            Some("thread/start") => stage.hold == Hold::ThreadStart,
            Some("turn/start") => stage.hold == Hold::TurnStart,
            _ => false,
        };
        if held {
            let (stage, out) = (stage.clone(), out.clone());
            tokio::spawn(async move {
                stage.release.notified().await;
                let _ = out.send(answer);
            });
        } else {
            let _ = out.send(answer);
        }
    }
}

async fn holding(
    hold: Hold,
    options: Value,
) -> (Harness<impl codex_ls::codex::Launcher>, Arc<Stage>) {
    let stage = Stage::new(hold);
    let script = stage.clone();
    let launcher = ScriptedLauncher(move |io| play(script.clone(), io));
    let h = Harness::start_with(launcher, streaming_caps(), options).await;
    (h, stage)
}

/// Starts "Explain" on a fresh `a.rs` with progress token `token`; returns
/// the run's id.
async fn explain(h: &mut Harness<impl codex_ls::codex::Launcher>, token: &str) -> Value {
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": token}))
        .await;
    started["runId"].clone()
}

/// Cancels the run on `token` as an editor does, and reads its progress to
/// the end, which must be `interrupted` and come within `CANCEL_LIMIT`.
async fn cancel_and_expect_interrupted(
    h: &mut Harness<impl codex_ls::codex::Launcher>,
    token: &str,
) {
    let cancelled = Instant::now();
    h.client
        .notify("window/workDoneProgress/cancel", json!({"token": token}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!(token)).await;
    let took = cancelled.elapsed();
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    assert!(took < CANCEL_LIMIT, "the cancel took {took:?}");
}

/// Polls `codex.status` until the backend is in `state`.
async fn backend_becomes(h: &mut Harness<impl codex_ls::codex::Launcher>, state: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = h.status().await;
        if status["backend"]["state"] == state {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "backend never became {state}: {status}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_codex_starts_ends_the_run_and_the_start_goes_on() {
    let (mut h, stage) = holding(Hold::Initialize, json!({})).await;
    explain(&mut h, "init").await;
    stage.received("initialize").await;
    cancel_and_expect_interrupted(&mut h, "init").await;
    // The start-up is still under way, and codex.status says so; once the
    // app-server answers, it is ready for the next run.
    assert_eq!(h.status_when_idle().await["backend"]["state"], "starting");
    stage.release.notify_one();
    backend_becomes(&mut h, "ready").await;
    let uri = h.open("b.rs", "y\n", Some("y\n")).await;
    h.run_to_completion(&uri, "next").await;
    assert_eq!(stage.count("initialize"), 1, "one start served both runs");
    h.finish().await; // a user cancel publishes no diagnostic
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_codex_starts_the_thread_ends_the_run_within_a_second() {
    let (mut h, stage) = holding(Hold::ThreadStart, json!({})).await;
    explain(&mut h, "thread").await;
    stage.received("thread/start").await;
    cancel_and_expect_interrupted(&mut h, "thread").await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_starts_after_its_run_was_cancelled_is_interrupted() {
    let (mut h, stage) = holding(Hold::TurnStart, json!({})).await;
    explain(&mut h, "turn").await;
    stage.received("turn/start").await;
    cancel_and_expect_interrupted(&mut h, "turn").await;
    assert_eq!(stage.count("turn/interrupt"), 0);
    // Codex starts the turn after all: codex-ls stops it at once.
    stage.release.notify_one();
    let interrupt = stage.received("turn/interrupt").await;
    assert_eq!(interrupt["params"]["turnId"], "tu1", "{interrupt}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_secs_counts_from_the_command_and_bounds_the_start_of_the_thread() {
    let (mut h, stage) = holding(Hold::ThreadStart, json!({"timeoutSecs": 1})).await;
    let asked = Instant::now();
    explain(&mut h, "slow").await;
    let (_, _, end) = h.progress_until_end(&json!("slow")).await;
    let took = asked.elapsed();
    assert_eq!(end["codex"]["status"], "timeout", "{end}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_millis(1900),
        "{took:?}"
    );
    assert_eq!(stage.count("turn/start"), 0);
    let diagnostics = h
        .client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    assert_eq!(
        diagnostics["diagnostics"][0]["code"], "timeout",
        "{diagnostics}"
    );
    h.finish().await;
}

/// A client that supports pulled configuration, server-created progress
/// tokens and edits.
fn full_caps() -> Value {
    json!({
        "window": {"workDoneProgress": true},
        "workspace": {"configuration": true, "applyEdit": true,
            "workspaceEdit": {"documentChanges": true}},
        "general": {"positionEncodings": ["utf-16"]}
    })
}

/// A full client on `launcher`, and the id of the server's configuration
/// pull, which the test answers or withholds.
async fn full_client(launcher: FakeLauncher) -> (Harness, Value) {
    let mut h = Harness::start_with(launcher, full_caps(), json!({})).await;
    let (pull, _) = h
        .client
        .expect_request("workspace/configuration", WAIT)
        .await;
    (h, pull)
}

/// Waits until `codex.status` lists no run, within `CANCEL_LIMIT` of `since`.
async fn runs_gone_within_a_second(
    h: &mut Harness<impl codex_ls::codex::Launcher>,
    since: Instant,
) {
    loop {
        let status = h.status().await;
        if status["activeRuns"] == json!([]) {
            break;
        }
        assert!(
            since.elapsed() < CANCEL_LIMIT,
            "the run is still active: {status}"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_the_client_withholds_its_configuration_ends_the_run() {
    // The server pulls the configuration once initialized; this client
    // never answers, as a busy editor might.
    let (mut h, _pull) = full_client(FakeLauncher::playing(&["ok"])).await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "cfg"}))
        .await;
    cancel_and_expect_interrupted(&mut h, "cfg").await;
    assert_eq!(h.launcher.launches(), 0, "nothing was sent to Codex");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_the_client_withholds_the_progress_token_ends_the_run() {
    let (mut h, pull) = full_client(FakeLauncher::playing(&["ok"])).await;
    h.client.respond(pull, json!([{}])).await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    // No token of its own: the server asks the client to create one, and
    // this client never answers.
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "prompt": "Go"}))
        .await;
    h.client
        .expect_request("window/workDoneProgress/create", WAIT)
        .await;
    let cancelled = Instant::now();
    let answer = h
        .command("codex.cancel", json!({"runId": started["runId"]}))
        .await
        .unwrap();
    assert_eq!(answer["cancelled"], json!([started["runId"]]), "{answer}");
    runs_gone_within_a_second(&mut h, cancelled).await;
    assert_eq!(h.launcher.launches(), 0, "nothing was sent to Codex");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_while_the_client_withholds_its_answer_to_an_edit_ends_the_run() {
    let answer = json!({"replacement": "fn x() {}", "explanation": "shorter"}).to_string();
    let launcher = FakeLauncher::replaying(vec![transcript("ok").with_answer(&answer)]);
    let (mut h, pull) = full_client(launcher).await;
    h.client.respond(pull, json!([{}])).await;
    let source = "fn x() {\n    1\n}\n";
    let uri = h.open("x.rs", source, Some(source)).await;
    h.command(
        "codex.rewrite",
        json!({"textDocument": {"uri": uri}, "range": range(0, 0, 2, 1), "progressToken": "edit"}),
    )
    .await
    .unwrap();
    // The editor holds the edit (e.g. a modal dialog is open).
    h.client.expect_request("workspace/applyEdit", WAIT).await;
    cancel_and_expect_interrupted(&mut h, "edit").await;
    h.finish().await;
}
