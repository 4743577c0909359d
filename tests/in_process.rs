//! In-process end-to-end tests: the codex-ls service served over
//! `tokio::io::duplex` to a [`TestClient`], with a fake `codex app-server`
//! (replaying recorded transcripts) behind a test [`Launcher`].
//!
//! Every wait is a channel wait with a timeout; nothing sleeps. Each test
//! claims every message
//! the server sends (the client panics at drop otherwise) and ends with a
//! short drain so late messages are caught too.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codex_ls::codex::BackendError;
use codex_ls::fuzzing::fake_app_server::Transcript;
use serde_json::{Value, json};
use support::editor::{file_uri, streamed_text};
use support::harness::{
    DRAIN, FakeLauncher, Harness, Plan, WAIT, answers_folder, range, streaming_caps, transcript,
    turn_input,
};

/// Checks `seq` goes 1, 2, 3, ... and every report names the run.
fn check_reports(reports: &[Value], run_id: &Value) {
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(report["codex"]["seq"], json!(i + 1), "seq of {report}");
        assert_eq!(&report["codex"]["runId"], run_id, "{report}");
    }
}

/// The final answer of a transcript: the text of its last agent message.
fn final_answer(t: &Transcript) -> String {
    t.completed_turn()
        .and_then(|turn| turn["items"].as_array())
        .and_then(|items| {
            items
                .iter()
                .rev()
                .find(|item| item["type"] == "agentMessage")
        })
        .and_then(|item| item["text"].as_str())
        .map(str::to_string)
        .expect("transcript has a final agent message")
}

/// The selected text inlined in the prompt (```rust fenced).
fn inlined_selection(prompt: &str) -> String {
    let start = prompt
        .find("Selected text:\n```rust\n")
        .expect("inlined selection")
        + 23;
    let end = start + prompt[start..].find("\n```").expect("closing fence");
    prompt[start..end].to_string()
}

// ---------------------------------------------------------------------------
// 1. The happy path
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ok_run_streams_losslessly_with_mentions_and_removes_snapshots() {
    let ok = transcript("ok");
    let mut h = Harness::start(FakeLauncher::playing(&["ok"])).await;
    let text = "fn main() {\n    let x = 1;\n    println!(\"{x}\");\n}\n";
    let uri = h.open("src/lib.rs", text, Some("fn main() {}\n")).await;
    let started = h
        .run(json!({
            "textDocument": {"uri": uri, "version": 1},
            "range": range(1, 4, 2, 20),
            "prompt": "Explain this",
            "progressToken": "tok-1",
        }))
        .await;
    assert_eq!(started["token"], "tok-1");
    let run_id = started["runId"].clone();
    let (begin, reports, end) = h.progress_until_end(&json!("tok-1")).await;

    assert_eq!(begin["title"], "Codex: Run");
    assert_eq!(begin["cancellable"], true);
    assert_eq!(begin["message"], "lines 2-3");
    assert_eq!(begin["codex"]["runId"], run_id);

    let answer = ok.assistant_text().unwrap();
    assert!(!reports.is_empty());
    check_reports(&reports, &run_id);
    assert_eq!(streamed_text(&reports), answer);
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(end["codex"]["runId"], run_id);
    assert_eq!(end["codex"]["assistantText"], answer.as_str());
    assert!(end["codex"].get("error").is_none());
    assert!(
        end["codex"].get("answerFile").is_none(),
        "client token: no file"
    );

    let fake = h.launcher.fake(0);
    let thread = fake.received_method("thread/start");
    assert_eq!(thread.len(), 1);
    let turn_start = fake.received_method("turn/start");
    assert_eq!(turn_start.len(), 1);
    let thread_id = turn_start[0]["params"]["threadId"].as_str().unwrap();
    for report in &reports {
        assert_eq!(report["codex"]["threadId"], thread_id);
        assert!(report["codex"]["turnId"].is_string());
    }

    let (prompt, mentions) = turn_input(&turn_start[0]);
    assert!(prompt.starts_with("Explain this"), "{prompt}");
    assert_eq!(mentions.len(), 2, "{mentions:?}");
    for (mention, _) in &mentions {
        assert!(mention.starts_with('@'), "{mention}");
    }
    let placeholders: Vec<&str> = mentions.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(placeholders, ["src/lib.rs", "src/lib.rs:2-3"]);
    assert_eq!(
        inlined_selection(&prompt),
        "let x = 1;\n    println!(\"{x}\");"
    );
    // The dirty buffer and the selection went into snapshot files, named in
    // the prompt and gone by the time the end report arrived.
    for (mention, _) in &mentions {
        let path = Path::new(&mention[1..]);
        assert!(path.is_absolute(), "snapshot path: {mention}");
        assert!(prompt.contains(&mention[1..]));
        assert!(!path.exists(), "snapshot {} still exists", path.display());
    }
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 2. Coalescing
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_coalesced_at_the_configured_interval_and_lossless() {
    let ok = transcript("ok");
    let deltas = ok
        .turn_methods()
        .iter()
        .filter(|m| *m == "item/agentMessage/delta")
        .count();
    assert_eq!(deltas, 20);
    let mut h = Harness::start_with(
        FakeLauncher::new(vec![Plan::new(&["ok"]).speed(1.0)]),
        streaming_caps(),
        json!({"progressIntervalMs": 200}),
    )
    .await;
    let uri = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    let token = json!(42);
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": 42}))
        .await;
    assert_eq!(started["token"], token);
    let run_id = started["runId"].clone();
    let begin = h.next_progress(&token).await;
    assert_eq!(begin["kind"], "begin");
    assert_eq!(begin["message"], "whole file");
    let mut reports = Vec::new();
    let mut arrivals = Vec::new();
    let end = loop {
        let value = h.next_progress(&token).await;
        match value["kind"].as_str() {
            Some("report") => {
                arrivals.push(Instant::now());
                reports.push(value);
            }
            Some("end") => break value,
            _ => panic!("{value}"),
        }
    };
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    check_reports(&reports, &run_id);
    assert_eq!(streamed_text(&reports), ok.assistant_text().unwrap());
    assert!(
        reports.len() < deltas && reports.len() <= 8,
        "{} reports for {deltas} deltas spread over 0.6 s at 200 ms",
        reports.len()
    );
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(150),
            "reports {gap:?} apart with progressIntervalMs 200"
        );
    }
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 3. A failure, its diagnostic, and the next run clearing it on the same thread
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_publishes_a_diagnostic_that_a_later_success_clears() {
    let mut h = Harness::start(FakeLauncher::playing(&["http500", "ok"])).await;
    let uri = h
        .open("src/main.rs", "fn main() {\n    work();\n}\n", Some("x"))
        .await;
    let selection = range(1, 4, 1, 11);
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "range": selection, "prompt": "Why?", "progressToken": "t500"}))
        .await;
    let (_, reports, end) = h.progress_until_end(&json!("t500")).await;
    // Its reports carry codex's start-up notices as steps, and no text.
    assert!(
        reports.iter().all(|r| r["codex"]["delta"] == ""),
        "http500 streams no text: {reports:?}"
    );
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    assert_eq!(end["codex"]["runId"], started["runId"]);
    assert_eq!(end["codex"]["error"]["code"], "server-error");
    assert!(end["codex"].get("assistantText").is_none());
    assert!(end["message"].as_str().unwrap().starts_with("Failed:"));

    let published = h.diagnostics(&uri).await;
    let diagnostics = published["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{published}");
    let d = &diagnostics[0];
    assert_eq!(d["source"], "codex");
    assert_eq!(d["code"], "server-error");
    assert_eq!(d["range"], selection);
    assert_eq!(
        d["message"].as_str().unwrap(),
        end["codex"]["error"]["message"].as_str().unwrap()
    );
    assert_eq!(published["version"], 1);

    h.run(json!({"textDocument": {"uri": uri}, "range": selection, "prompt": "Again", "progressToken": "tok"}))
        .await;
    let (_, reports, end) = h.progress_until_end(&json!("tok")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(
        streamed_text(&reports),
        transcript("ok").assistant_text().unwrap()
    );
    let cleared = h.diagnostics(&uri).await;
    assert_eq!(cleared["diagnostics"], json!([]), "{cleared}");

    // Same thread: one thread/start, both turns on it.
    assert_eq!(h.launcher.launches(), 1);
    let fake = h.launcher.fake(0);
    assert_eq!(fake.received_method("thread/start").len(), 1);
    let turns = fake.received_method("turn/start");
    assert_eq!(turns.len(), 2);
    assert_eq!(
        turns[0]["params"]["threadId"],
        turns[1]["params"]["threadId"]
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 4. Failure codes
// ---------------------------------------------------------------------------

/// One failing run: end status `failed` with `code`, the streamed text as
/// recorded, and a diagnostic with `code` on the first line.
async fn failing_run(name: &str, code: &str) {
    let t = transcript(name);
    let mut h = Harness::start(FakeLauncher::playing(&[name])).await;
    let uri = h.open("f.rs", "first line\nsecond\n", None).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "t"}))
        .await;
    let (_, reports, end) = h.progress_until_end(&json!("t")).await;
    assert_eq!(end["codex"]["status"], "failed", "{name}: {end}");
    assert_eq!(end["codex"]["error"]["code"], code, "{name}: {end}");
    assert_eq!(
        streamed_text(&reports),
        t.assistant_text().unwrap(),
        "{name}"
    );
    let published = h.diagnostics(&uri).await;
    let d = &published["diagnostics"][0];
    assert_eq!(d["code"], code, "{name}: {published}");
    assert_eq!(d["source"], "codex");
    // No selection: the first line.
    assert_eq!(d["range"], range(0, 0, 0, 10), "{name}: {published}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http401_is_unauthorized() {
    failing_run("http401", "unauthorized").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http429_is_rate_limited() {
    failing_run("http429", "rate-limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_stream_is_network() {
    failing_run("break", "network").await;
}

// ---------------------------------------------------------------------------
// 5. A retry restarts the streamed answer
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_resets_the_stream_to_the_final_answer() {
    let t = transcript("retry-recovers-gpt55");
    let answer = final_answer(&t);
    assert_eq!(answer, "Second attempt succeeded.");
    let mut h = Harness::start(FakeLauncher::new(vec![
        Plan::new(&["retry-recovers-gpt55"]).speed(1.0),
    ]))
    .await;
    let uri = h.open("r.rs", "x\n", Some("x\n")).await;
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "retry"}))
        .await;
    let (_, reports, end) = h.progress_until_end(&json!("retry")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(end["codex"]["assistantText"], answer.as_str());
    check_reports(&reports, &started["runId"]);
    assert_eq!(streamed_text(&reports), answer);
    // The first attempt streamed text (at recorded speed, it was reported
    // before the retry), so the stream had to start over.
    let first_text = reports.iter().find(|r| r["codex"]["delta"] != "").unwrap();
    assert!(
        first_text["codex"]["delta"]
            .as_str()
            .unwrap()
            .starts_with("PARTIA")
    );
    assert!(
        reports.iter().any(|r| r["codex"]["reset"] == true),
        "no reset: {reports:?}"
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 6. Cancel
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_by_progress_token_or_run_id_interrupts_within_a_second() {
    let mut h = Harness::start(FakeLauncher::playing(&["hang-interrupt"])).await;
    let uri = h
        .open("c.rs", "fn c() {\n    loop {}\n}\n", Some("fn c() {}\n"))
        .await;

    // window/workDoneProgress/cancel
    let token = json!("cancel-me");
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "range": range(1, 0, 1, 11), "prompt": "Go", "progressToken": token}))
        .await;
    let begin = h.next_progress(&token).await;
    assert_eq!(begin["kind"], "begin");
    // The first report of text (a report of codex's start-up notices
    // may come before it).
    let first = loop {
        let report = h.next_progress(&token).await;
        assert_eq!(report["kind"], "report", "{report}");
        if report["codex"]["delta"] != "" {
            break report;
        }
    };
    // While the run hangs, its snapshots exist.
    let fake = h.launcher.fake(0);
    let turn_start = fake.wait_received("turn/start", WAIT).await.unwrap();
    let (_, mentions) = turn_input(&turn_start);
    assert_eq!(mentions.len(), 2);
    for (mention, _) in &mentions {
        assert!(
            Path::new(&mention[1..]).exists(),
            "{mention} missing mid-run"
        );
    }
    let status = h.status().await;
    assert_eq!(status["activeRuns"][0]["runId"], started["runId"]);
    assert_eq!(status["activeRuns"][0]["uri"], uri.as_str());

    let cancelled_at = Instant::now();
    h.client
        .notify("window/workDoneProgress/cancel", json!({"token": token}))
        .await;
    let (rest, end) = h.rest_until_end(&token).await;
    let took = cancelled_at.elapsed();
    assert!(took < Duration::from_secs(1), "end {took:?} after cancel");
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    assert_eq!(end["codex"]["error"]["code"], "interrupted");
    assert_eq!(end["message"], "Cancelled");
    let mut all = vec![first];
    all.extend(rest);
    // Deltas still queued when the cancel lands may be dropped; what was
    // reported is a prefix of what streamed.
    let streamed = streamed_text(&all);
    assert!(
        "Starting to answer ".starts_with(&streamed) && !streamed.is_empty(),
        "{streamed:?}"
    );
    assert!(fake.wait_received("turn/interrupt", WAIT).await.is_some());
    for (mention, _) in &mentions {
        assert!(!Path::new(&mention[1..]).exists(), "{mention} left behind");
    }

    // codex.cancel {runId}
    let token = json!("by-id");
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "prompt": "Again", "progressToken": token}))
        .await;
    assert_eq!(h.next_progress(&token).await["kind"], "begin");
    assert_eq!(h.next_progress(&token).await["kind"], "report");
    let cancelled_at = Instant::now();
    let answer = h
        .command("codex.cancel", json!({"runId": started["runId"]}))
        .await
        .unwrap();
    assert_eq!(answer, json!({"cancelled": [started["runId"]]}));
    let (_, end) = h.rest_until_end(&token).await;
    assert!(cancelled_at.elapsed() < Duration::from_secs(1));
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    assert_eq!(fake.received_method("turn/interrupt").len(), 2);
    // Both runs on the document's one thread.
    assert_eq!(fake.received_method("thread/start").len(), 1);

    // Nothing left to cancel; a cancel naming two things is refused.
    h.status_when_idle().await;
    let answer = h
        .command("codex.cancel", json!({"textDocument": {"uri": uri}}))
        .await
        .unwrap();
    assert_eq!(answer, json!({"cancelled": []}));
    let err = h
        .command("codex.cancel", json!({"runId": 1, "token": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err["code"], -32602);
    let status = h.status().await;
    assert_eq!(status["activeRuns"], json!([]));
    h.finish().await; // checks: no publishDiagnostics for a user cancel
}

// ---------------------------------------------------------------------------
// 7. The app-server crashes mid-stream
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_fails_the_run_at_once_and_the_next_run_relaunches() {
    // Turn part of `ok`: warning, response, status, turn/started, item
    // started/completed, item/started, then deltas: 10 messages = 3 deltas.
    let launcher = FakeLauncher::new(vec![
        Plan::new(&["ok"]).speed(1.0).crash_after(10),
        Plan::new(&["ok"]),
    ]);
    let mut h = Harness::start(launcher).await;
    let uri = h.open("k.rs", "fn k() {}\n", Some("fn k() {}\n")).await;
    let token = json!("crash");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": token}))
        .await;
    assert_eq!(h.next_progress(&token).await["kind"], "begin");
    let first = h.next_progress(&token).await;
    assert_eq!(first["kind"], "report", "{first}");
    let fake = h.launcher.fake(0);
    assert!(fake.wait_stopped(WAIT).await, "the fake did not crash");
    let crashed_at = Instant::now();
    let (_, end) = h.rest_until_end(&token).await;
    let took = crashed_at.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "end {took:?} after the crash"
    );
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    assert_eq!(end["codex"]["error"]["code"], "backend-unavailable");
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"][0]["code"], "backend-unavailable");

    let token = json!("after-crash");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Again", "progressToken": token}))
        .await;
    let (begin, reports, end) = h.progress_until_end(&token).await;
    assert!(
        begin["message"]
            .as_str()
            .unwrap()
            .contains("Codex restarted: resuming the conversation"),
        "{begin}"
    );
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(
        streamed_text(&reports),
        transcript("ok").assistant_text().unwrap()
    );
    assert_eq!(h.launcher.launches(), 2);
    let fresh = h.launcher.fake(1);
    assert_eq!(fresh.received_method("initialize").len(), 1);
    // The fake cannot resume: the thread the crashed server had is asked
    // for, then a new one starts and the user is told.
    let resume = fresh.received_method("thread/resume");
    assert_eq!(resume.len(), 1);
    assert_eq!(
        resume[0]["params"]["threadId"],
        fake.received_method("turn/start")[0]["params"]["threadId"]
    );
    assert_eq!(fresh.received_method("thread/start").len(), 1);
    h.shown_message("could not be resumed; started a new one")
        .await;
    let cleared = h.diagnostics(&uri).await;
    assert_eq!(cleared["diagnostics"], json!([]));
    let status = h.status().await;
    assert_eq!(status["backend"]["state"], "ready", "{status}");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 8. No codex binary
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_codex_is_a_backend_unavailable_diagnostic_with_advice() {
    let launcher = FakeLauncher::failing(BackendError::NotFound {
        path: "codex-in-process-fake".into(),
    });
    let mut h = Harness::start(launcher).await;
    let uri = h.open("m.rs", "line one\nline two\n", None).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "nf"}))
        .await;
    let (_, reports, end) = h.progress_until_end(&json!("nf")).await;
    assert!(reports.is_empty());
    assert_eq!(end["codex"]["status"], "failed");
    assert_eq!(end["codex"]["error"]["code"], "backend-unavailable");
    let published = h.diagnostics(&uri).await;
    let d = &published["diagnostics"][0];
    assert_eq!(d["code"], "backend-unavailable");
    assert_eq!(d["range"], range(0, 0, 0, 8));
    let message = d["message"].as_str().unwrap();
    assert!(message.contains("@openai/codex"), "{message}");
    assert!(message.contains("codexPath"), "{message}");
    let status = h.status().await;
    assert_eq!(status["backend"]["state"], "unavailable", "{status}");
    assert_eq!(status["backend"]["codexPath"], "codex-in-process-fake");
    assert!(
        status["backend"]["lastError"]
            .as_str()
            .unwrap()
            .contains("codexPath")
    );
    assert_eq!(h.launcher.launches(), 1);

    // didClose clears the failure diagnostics.
    h.client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let cleared = h.diagnostics(&uri).await;
    assert_eq!(cleared["diagnostics"], json!([]));
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 9. Clients that pass no progress token
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_client_gets_a_server_token_and_the_answer_file_shown() {
    let ok = transcript("ok");
    let caps = json!({
        "window": {"workDoneProgress": true, "showDocument": {"support": true}},
        "general": {"positionEncodings": ["utf-16"]},
    });
    let mut h = Harness::start_with(FakeLauncher::playing(&["ok"]), caps, json!({})).await;
    let folder = answers_folder(h.workspace.path());
    let uri = h.open("g.rs", "fn g() {}\n", Some("fn g() {}\n")).await;
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "prompt": "Explain"}))
        .await;
    let token = started["token"].clone();
    assert!(token.as_str().unwrap().starts_with("codex-ls/run/"));
    let (id, params) = h
        .client
        .expect_request("window/workDoneProgress/create", WAIT)
        .await;
    assert_eq!(params["token"], token);
    h.client.respond(id, Value::Null).await;
    let (_, reports, end) = h.progress_until_end(&token).await;
    let answer = ok.assistant_text().unwrap();
    assert_eq!(streamed_text(&reports), answer);
    assert_eq!(end["codex"]["status"], "completed");
    let answer_file = PathBuf::from(end["codex"]["answerFile"].as_str().expect("answerFile"));

    let (id, params) = h.client.expect_request("window/showDocument", WAIT).await;
    h.client.respond(id, json!({"success": true})).await;
    let shown = params["uri"].as_str().unwrap();
    assert_eq!(shown, file_uri(&answer_file));
    assert!(shown.ends_with(".md"));
    assert_eq!(params["takeFocus"], false);
    let markdown = std::fs::read_to_string(&answer_file).unwrap();
    assert!(markdown.contains(&answer), "{markdown}");
    assert!(markdown.starts_with("# Codex: Run"), "{markdown}");
    assert!(
        !answer_file.starts_with(h.workspace.path()),
        "answers must not dirty the workspace"
    );
    assert!(answer_file.starts_with(&folder));
    std::fs::remove_dir_all(&folder).unwrap();
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 10. Positions and encodings
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_inside_a_surrogate_pair_are_rejected_and_past_the_end_clamps() {
    let mut h = Harness::start(FakeLauncher::playing(&["ok"])).await;
    assert_eq!(h.init_result["capabilities"]["positionEncoding"], "utf-16");
    let text = "😀 smile\nsecond\n";
    let uri = h.open("e.rs", text, Some(text)).await;
    let err = h
        .command(
            "codex.run",
            json!({"textDocument": {"uri": uri}, "range": range(0, 1, 0, 5), "prompt": "Go", "progressToken": "bad"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("middle of a character")
    );

    // Past the end of the document: clamped.
    h.run(json!({"textDocument": {"uri": uri}, "range": range(0, 3, 99, 0), "prompt": "Go", "progressToken": "far"}))
        .await;
    let (begin, _, end) = h.progress_until_end(&json!("far")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(begin["message"], "lines 1-2");
    let turn = h.launcher.fake(0).received_method("turn/start");
    let (prompt, _) = turn_input(&turn[0]);
    assert_eq!(inlined_selection(&prompt), "smile\nsecond");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn utf8_is_negotiated_when_offered_and_used_for_ranges() {
    let caps = json!({"window": {"workDoneProgress": true}, "general": {"positionEncodings": ["utf-8", "utf-16"]}});
    let mut h = Harness::start_with(FakeLauncher::playing(&["ok"]), caps, json!({})).await;
    assert_eq!(h.init_result["capabilities"]["positionEncoding"], "utf-8");
    let text = "😀 smile\n";
    let uri = h.open("e.rs", text, Some(text)).await;
    // Byte 2 is inside the emoji's four bytes.
    let err = h
        .command(
            "codex.run",
            json!({"textDocument": {"uri": uri}, "range": range(0, 2, 0, 10), "prompt": "Go"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    h.run(json!({"textDocument": {"uri": uri}, "range": range(0, 5, 0, 10), "prompt": "Go", "progressToken": "u8"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("u8")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    let turn = h.launcher.fake(0).received_method("turn/start");
    assert_eq!(inlined_selection(&turn_input(&turn[0]).0), "smile");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 11. Incremental edits
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_edits_are_applied_before_the_selection_is_read() {
    let mut h = Harness::start(FakeLauncher::playing(&["ok"])).await;
    let uri = h
        .open("i.rs", "hello world\nsecond line\nthird\n", None)
        .await;
    let change = |version: i32, changes: Value| json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes});
    let edits = [
        // "hello there\nsecond line\nthird\n"
        change(2, json!([{"range": range(0, 6, 0, 11), "text": "there"}])),
        // multi-line: "hello 😀 new\nfirst line\nthird\n"
        change(
            3,
            json!([{"range": range(0, 5, 1, 6), "text": " 😀 new\nfirst"}]),
        ),
        // after the emoji (UTF-16: it spans 6..8): "hello 😀! new\n..."
        change(4, json!([{"range": range(0, 8, 0, 8), "text": "!"}])),
        // two changes in one notification, applied in order:
        // drop "third\n", then add a line: "hello 😀! new\nfirst line\nadded\n"
        change(
            5,
            json!([
                {"range": range(2, 0, 3, 0), "text": ""},
                {"range": range(1, 10, 1, 10), "text": "\nadded"},
            ]),
        ),
    ];
    for edit in edits {
        h.client.notify("textDocument/didChange", edit).await;
    }

    // A stale version is refused when the run starts.
    h.run(json!({"textDocument": {"uri": uri, "version": 4}, "range": range(0, 6, 2, 5), "prompt": "Go", "progressToken": "stale"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("stale")).await;
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    assert_eq!(end["codex"]["error"]["code"], "document-changed");
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"][0]["code"], "document-changed");
    assert_eq!(published["version"], 5);
    assert_eq!(h.launcher.launches(), 0, "a refused run starts nothing");

    h.run(json!({"textDocument": {"uri": uri, "version": 5}, "range": range(0, 6, 2, 5), "prompt": "Go", "progressToken": "edited"}))
        .await;
    let (begin, _, end) = h.progress_until_end(&json!("edited")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(begin["message"], "lines 1-3");
    let cleared = h.diagnostics(&uri).await;
    assert_eq!(cleared["diagnostics"], json!([]));
    let turn = h.launcher.fake(0).received_method("turn/start");
    let (prompt, mentions) = turn_input(&turn[0]);
    assert_eq!(inlined_selection(&prompt), "😀! new\nfirst line\nadded");
    assert_eq!(mentions[1].1, "i.rs:1-3");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 12. Configuration errors name their field
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_initialization_options_are_reported_by_name() {
    let mut h = Harness::start_with(
        FakeLauncher::playing(&["ok"]),
        streaming_caps(),
        json!({"timeoutSecs": "x"}),
    )
    .await;
    let shown = h.shown_message("`timeoutSecs`").await;
    assert_eq!(shown["type"], 2, "{shown}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_pushed_settings_are_reported_by_name() {
    let mut h = Harness::start(FakeLauncher::playing(&["ok"])).await;
    h.client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"codex": {"progressIntervalMs": -1}}}),
        )
        .await;
    h.shown_message("`progressIntervalMs`").await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_pulled_settings_are_reported_by_name() {
    let caps = json!({"workspace": {"configuration": true}, "window": {"workDoneProgress": true}});
    let mut h = Harness::start_with(FakeLauncher::playing(&["ok"]), caps, json!({})).await;
    let (id, params) = h
        .client
        .expect_request("workspace/configuration", WAIT)
        .await;
    assert_eq!(params["items"][0]["section"], "codex");
    h.client
        .respond(id, json!([{"inlineSelectionLimit": "big"}]))
        .await;
    h.shown_message("`inlineSelectionLimit`").await;
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 13. Code actions
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_code_action_on_a_selection_runs_end_to_end() {
    let mut h = Harness::start(FakeLauncher::playing(&["ok"])).await;
    let uri = h
        .open("x.rs", "fn x() {\n    1\n}\n", Some("fn x() {\n    1\n}\n"))
        .await;
    let ask = |r: Value, only: Option<Value>| {
        let mut context = json!({"diagnostics": []});
        if let Some(only) = only {
            context["only"] = only;
        }
        json!({"textDocument": {"uri": uri}, "range": r, "context": context})
    };
    let titles = |actions: &Value| -> Vec<String> {
        actions
            .as_array()
            .map(|actions| {
                actions
                    .iter()
                    .map(|a| a["title"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let empty = h
        .client
        .request("textDocument/codeAction", ask(range(1, 2, 1, 2), None))
        .await
        .unwrap();
    assert_eq!(
        titles(&empty),
        ["Codex: Review file"],
        "only the file review without a selection"
    );
    let quickfix = h
        .client
        .request(
            "textDocument/codeAction",
            ask(range(1, 0, 1, 5), Some(json!(["quickfix"]))),
        )
        .await
        .unwrap();
    assert!(
        quickfix.is_null() || quickfix == json!([]),
        "no fix without diagnostics: {quickfix}"
    );
    let actions = h
        .client
        .request(
            "textDocument/codeAction",
            ask(range(1, 0, 1, 5), Some(json!(["refactor.codex.explain"]))),
        )
        .await
        .unwrap();
    let actions = actions.as_array().expect("actions");
    assert_eq!(actions.len(), 1, "{actions:?}");
    let action = &actions[0];
    assert_eq!(action["title"], "Codex: Explain selection");
    assert_eq!(action["kind"], "refactor.codex.explain");
    assert_eq!(action["command"]["command"], "codex.explain");

    // Executing it as the client would (no token: the server creates one).
    h.client
        .auto_respond("window/workDoneProgress/create", Value::Null);
    let started = h
        .client
        .request(
            "workspace/executeCommand",
            json!({"command": "codex.explain", "arguments": action["command"]["arguments"]}),
        )
        .await
        .unwrap();
    let token = started["token"].clone();
    let (begin, _, end) = h.progress_until_end(&token).await;
    assert_eq!(begin["title"], "Codex: Explain");
    assert_eq!(begin["message"], "Codex is working… line 2");
    assert_eq!(end["codex"]["status"], "completed");
    let message = h
        .client
        .expect_notification("window/showMessage", WAIT)
        .await;
    let message = message["message"].as_str().unwrap();
    assert!(
        message.contains(end["codex"]["assistantText"].as_str().unwrap()),
        "{message}"
    );
    // Without showDocument support the message names the answer file.
    let answer_file = end["codex"]["answerFile"].as_str().expect("answerFile");
    assert!(message.contains(answer_file), "{message}");
    std::fs::remove_dir_all(answers_folder(h.workspace.path())).unwrap();
    let turn = h.launcher.fake(0).received_method("turn/start");
    assert_eq!(inlined_selection(&turn_input(&turn[0]).0), "    1");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 14. Shutdown
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_runs_in_flight_within_two_seconds() {
    let mut h = Harness::start(FakeLauncher::playing(&["hang-interrupt"])).await;
    let uri = h.open("s.rs", "fn s() {}\n", Some("fn s() {}\n")).await;
    let token = json!("hang");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": token}))
        .await;
    assert_eq!(h.next_progress(&token).await["kind"], "begin");
    assert_eq!(h.next_progress(&token).await["kind"], "report");
    let asked = Instant::now();
    let answer = h
        .client
        .request_with_timeout("shutdown", Value::Null, Duration::from_secs(2))
        .await;
    assert_eq!(answer, Ok(Value::Null));
    let (_, end) = h.rest_until_end(&token).await;
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the run ended {:?} after shutdown",
        asked.elapsed()
    );
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    h.client.notify("exit", Value::Null).await;
    assert!(h.client.wait_closed(WAIT).await, "the server did not exit");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 15. Bad requests
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_on_unopened_documents_and_bad_arguments_are_invalid_params() {
    let mut h = Harness::start(FakeLauncher::playing(&["ok"])).await;
    let path = h.workspace.path().join("closed.rs");
    std::fs::write(&path, "fn c() {}\n").unwrap();
    let err = h
        .command(
            "codex.run",
            json!({"textDocument": {"uri": file_uri(&path)}, "prompt": "Go"}),
        )
        .await
        .unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("not open"),
        "{err}"
    );
    let err = h
        .command(
            "codex.explain",
            json!({"textDocument": {"uri": file_uri(&path)}}),
        )
        .await
        .unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    let uri = h.open("open.rs", "x\n", None).await;
    let err = h
        .command("codex.run", json!({"textDocument": {"uri": uri}}))
        .await
        .unwrap_err();
    assert_eq!(err["code"], -32602, "missing prompt: {err}");
    let err = h.command("codex.nope", json!({})).await.unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    assert_eq!(h.launcher.launches(), 0, "rejected commands start nothing");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_in_use_is_refused() {
    let mut h = Harness::start(FakeLauncher::playing(&["hang-interrupt"])).await;
    let uri = h.open("t.rs", "x\n", Some("x\n")).await;
    let token = json!("busy");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": token}))
        .await;
    assert_eq!(h.next_progress(&token).await["kind"], "begin");
    let err = h
        .command(
            "codex.run",
            json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": token}),
        )
        .await
        .unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    let cancelled = h
        .command("codex.cancel", json!({"token": token}))
        .await
        .unwrap();
    assert_eq!(cancelled["cancelled"].as_array().unwrap().len(), 1);
    let (_, end) = h.rest_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "interrupted");
    h.finish().await;
}

// ---------------------------------------------------------------------------
// 16. Version warning
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tested_codex_version_gets_no_warning() {
    let mut h = Harness::start(FakeLauncher::playing(&["ok"])).await;
    let uri = h.open("v.rs", "x\n", Some("x\n")).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "v"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("v")).await;
    assert_eq!(end["codex"]["status"], "completed");
    let status = h.status().await;
    assert_eq!(status["backend"]["codexVersion"], "0.169.0", "{status}");
    assert_eq!(status["backend"]["state"], "ready");
    assert_eq!(status["serverVersion"], env!("CARGO_PKG_VERSION"));
    h.finish().await; // asserts no window/showMessage arrived
}

/// A fake app-server that says it is Codex `version`.
fn launcher_of_version(version: &str) -> FakeLauncher {
    let mut t = transcript("ok");
    let agent = t.initialize_result["userAgent"]
        .as_str()
        .unwrap()
        .to_string();
    t.initialize_result["userAgent"] = json!(agent.replace("/0.169.0", &format!("/{version}")));
    FakeLauncher::replaying(vec![t])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_of_the_tested_range_runs_without_a_notice() {
    for version in ["0.170.2", "0.171.0"] {
        let mut h = Harness::start(launcher_of_version(version)).await;
        let uri = h.open("v.rs", "x\n", Some("x\n")).await;
        h.run_to_completion(&uri, "v").await;
        assert_eq!(h.status().await["backend"]["codexVersion"], version);
        h.finish().await; // asserts no window/showMessage arrived
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_outside_the_range_gets_one_notice_that_never_says_downgrade() {
    let mut h = Harness::start(launcher_of_version("0.172.0")).await;
    let uri = h.open("v.rs", "x\n", Some("x\n")).await;
    for token in ["w1", "w2"] {
        h.run_to_completion(&uri, token).await;
    }
    let notice = h.shown_message("0.172.0").await;
    assert_eq!(
        notice["type"], 3,
        "a notice (Info), not a warning: {notice}"
    );
    let text = notice["message"].as_str().unwrap();
    assert!(text.contains("0.169 to 0.171"), "{text}");
    assert!(!text.contains("@openai/codex@"), "{text}");
    h.finish().await; // a second notice would be caught here
}

// ---------------------------------------------------------------------------
// More: timeout, a queued run, closing a document mid-run
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_past_timeout_secs_ends_with_status_timeout() {
    let mut h = Harness::start_with(
        FakeLauncher::playing(&["hang-interrupt"]),
        streaming_caps(),
        json!({"timeoutSecs": 1}),
    )
    .await;
    let uri = h.open("h.rs", "x\n", Some("x\n")).await;
    let asked = Instant::now();
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "slow"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("slow")).await;
    let took = asked.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(end["codex"]["status"], "timeout", "{end}");
    assert_eq!(end["codex"]["error"]["code"], "timeout");
    assert_eq!(end["message"], "Timed out");
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"][0]["code"], "timeout");
    assert!(
        h.launcher
            .fake(0)
            .wait_received("turn/interrupt", WAIT)
            .await
            .is_some()
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_queued_behind_another_on_its_document_can_be_cancelled() {
    let mut h = Harness::start(FakeLauncher::playing(&["hang-interrupt"])).await;
    let uri = h.open("q.rs", "x\n", Some("x\n")).await;
    let (a, b) = (json!("first"), json!("queued"));
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "A", "progressToken": a}))
        .await;
    assert_eq!(h.next_progress(&a).await["kind"], "begin");
    assert_eq!(h.next_progress(&a).await["kind"], "report");
    // Any run command can queue (an explain here; tests/conversations.rs
    // queues a codex.run), and without `queue` it is refused at once.
    let refused = h
        .command(
            "codex.explain",
            json!({"textDocument": {"uri": uri}, "progressToken": "refused"}),
        )
        .await;
    let refusal = refused.expect_err("a second run on a busy conversation is refused");
    assert!(refusal.to_string().contains("busy"), "{refusal}");
    let queued = h
        .command(
            "codex.explain",
            json!({"textDocument": {"uri": uri}, "progressToken": b, "queue": true}),
        )
        .await
        .unwrap();
    assert_eq!(h.next_progress(&b).await["kind"], "begin");
    let status = h.status().await;
    assert_eq!(status["activeRuns"].as_array().unwrap().len(), 2);
    // B waits for A (one turn at a time per document's thread).
    let fake = h.launcher.fake(0);
    assert_eq!(fake.received_method("turn/start").len(), 1);
    let cancelled_at = Instant::now();
    h.client
        .notify("window/workDoneProgress/cancel", json!({"token": b}))
        .await;
    let (reports, end) = h.rest_until_end(&b).await;
    assert!(cancelled_at.elapsed() < Duration::from_secs(1));
    assert!(reports.is_empty());
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    assert_eq!(end["codex"]["runId"], queued["runId"]);
    assert_eq!(fake.received_method("turn/start").len(), 1);
    // A is still running; cancel it by document.
    let cancelled = h
        .command("codex.cancel", json!({"textDocument": {"uri": uri}}))
        .await
        .unwrap();
    assert_eq!(cancelled["cancelled"].as_array().unwrap().len(), 1);
    let (_, end) = h.rest_until_end(&a).await;
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    h.finish().await;
}

/// A run that fails after its document was closed must not publish
/// diagnostics for it: the didClose that cleared them came first, so nothing
/// would ever clear them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_failing_after_did_close_publishes_no_diagnostic() {
    let mut h = Harness::start(FakeLauncher::new(vec![Plan::new(&["http500"]).speed(1.0)])).await;
    let uri = h.open("d.rs", "x\n", Some("x\n")).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "d"}))
        .await;
    assert_eq!(h.next_progress(&json!("d")).await["kind"], "begin");
    h.client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    let (_, end) = h.rest_until_end(&json!("d")).await;
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    h.client.drain(DRAIN).await;
    let published = h
        .client
        .take_notifications("textDocument/publishDiagnostics");
    let stale: Vec<&Value> = published
        .iter()
        .filter(|p| p["diagnostics"] != json!([]))
        .collect();
    assert!(
        stale.is_empty(),
        "diagnostics published for a closed document, never cleared: {stale:?}"
    );
    h.finish().await;
}
