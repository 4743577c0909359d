//! Failure diagnostics that inform without piling up: at most one per
//! document (the latest replaces the earlier one), a Warning (a failed run
//! says nothing about the code), with code actions that help (Retry, how to
//! sign in, the settings), cleared by the next successful run, and never
//! shown for a cancel by the user.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use codex_ls::codex::BackendError;
use serde_json::{Value, json};
use support::harness::{FakeLauncher, Harness, range, turn_input};

/// LSP `DiagnosticSeverity.Warning`.
const WARNING: u64 = 2;

/// The code actions offered for `diagnostic` on its range, by title.
async fn failure_actions(h: &mut Harness, uri: &str, diagnostic: &Value) -> Vec<(String, Value)> {
    let answer = h
        .client
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": uri},
                "range": diagnostic["range"],
                "context": {"diagnostics": [diagnostic], "only": ["quickfix"]},
            }),
        )
        .await
        .unwrap();
    answer
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|action| (action["title"].as_str().unwrap().to_string(), action))
        .collect()
}

/// Runs Explain on `selection` with `token` to its end; returns the end.
async fn explain(h: &mut Harness, uri: &str, selection: Value, token: &str) -> Value {
    h.command(
        "codex.explain",
        json!({"textDocument": {"uri": uri, "version": 1}, "range": selection, "progressToken": token}),
    )
    .await
    .unwrap();
    let (_, _, end) = h.progress_until_end(&json!(token)).await;
    end
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_failures_leave_one_warning_that_offers_a_retry() {
    let mut h = Harness::start(FakeLauncher::playing(&["http500"])).await;
    let uri = h
        .open("src/main.rs", "fn main() {\n    work();\n}\n", Some("x"))
        .await;
    let selection = range(1, 4, 1, 11);
    let mut published = Value::Null;
    for n in 0..6 {
        let end = explain(&mut h, &uri, selection.clone(), &format!("t{n}")).await;
        assert_eq!(end["codex"]["error"]["code"], "server-error", "{end}");
        published = h.diagnostics(&uri).await;
        let diagnostics = published["diagnostics"].as_array().unwrap();
        assert_eq!(diagnostics.len(), 1, "after failure {}: {published}", n + 1);
    }
    let d = &published["diagnostics"][0];
    assert_eq!(d["source"], "codex");
    assert_eq!(d["code"], "server-error");
    assert_eq!(d["severity"], WARNING, "{d}");
    assert_eq!(d["range"], selection);
    // What Retry runs again: the command as sent, without its token and
    // version.
    assert_eq!(
        d["data"]["retry"],
        json!({"command": "codex.explain", "argument": {"textDocument": {"uri": uri}, "range": selection}}),
        "{d}"
    );
    let titles: Vec<String> = failure_actions(&mut h, &uri, d)
        .await
        .into_iter()
        .map(|(title, _)| title)
        .collect();
    assert_eq!(titles, ["Codex: Retry"]);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_runs_the_failed_run_again_and_its_success_clears_the_warning() {
    let mut h = Harness::start(FakeLauncher::playing(&["http500", "ok"])).await;
    let text = "// top\nfn main() {\n    work();\n}\n";
    let uri = h.open("src/main.rs", text, Some(text)).await;
    let end = explain(&mut h, &uri, range(2, 4, 2, 11), "first").await;
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    let published = h.diagnostics(&uri).await;
    let failure = published["diagnostics"][0].clone();

    // The editor moved the diagnostic with a line inserted above it: Retry
    // runs on the range the editor holds now.
    let mut moved = failure.clone();
    moved["range"] = range(3, 4, 3, 11);
    h.client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"range": range(0, 0, 0, 0), "text": "// new\n"}]}),
        )
        .await;
    let actions = failure_actions(&mut h, &uri, &moved).await;
    let (_, retry) = actions
        .iter()
        .find(|(title, _)| title == "Codex: Retry")
        .expect("a Retry action");
    assert_eq!(retry["kind"], "quickfix");
    assert_eq!(retry["diagnostics"], json!([moved]));
    let command = &retry["command"];
    assert_eq!(command["command"], "codex.explain");
    let mut argument = command["arguments"][0].clone();
    assert_eq!(argument["range"], range(3, 4, 3, 11));
    // As an editor plugin does, stream it on a token of its own.
    argument["progressToken"] = json!("retry");
    h.command("codex.explain", argument).await.unwrap();
    let (_, _, end) = h.progress_until_end(&json!("retry")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    let cleared = h.diagnostics(&uri).await;
    assert_eq!(cleared["diagnostics"], json!([]), "{cleared}");

    // The same run, twice: the same prompt on the same selected text.
    let fake = h.launcher.fake(0);
    let turns = fake.received_method("turn/start");
    assert_eq!(turns.len(), 2);
    let (first, _) = turn_input(&turns[0]);
    let (again, _) = turn_input(&turns[1]);
    assert!(
        first.contains("work();") && again.contains("work();"),
        "{again}"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthorized_failure_is_a_warning_with_a_sign_in_hint() {
    let mut h = Harness::start(FakeLauncher::playing(&["http401"])).await;
    let uri = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    // An empty range: the whole file, with the diagnostic on the first line.
    let end = explain(&mut h, &uri, range(0, 3, 0, 3), "t").await;
    assert_eq!(end["codex"]["error"]["code"], "unauthorized", "{end}");
    let published = h.diagnostics(&uri).await;
    let d = &published["diagnostics"][0];
    assert_eq!(d["severity"], WARNING, "{d}");
    let actions = failure_actions(&mut h, &uri, d).await;
    let titles: Vec<&str> = actions.iter().map(|(title, _)| title.as_str()).collect();
    assert_eq!(titles, ["Codex: Retry", "Codex: How to sign in"]);
    let retried = &actions[0].1["command"]["arguments"][0];
    assert_eq!(retried["range"], range(0, 3, 0, 3), "still the whole file");
    let command = &actions[1].1["command"];
    h.command(
        command["command"].as_str().unwrap(),
        command["arguments"][0].clone(),
    )
    .await
    .unwrap();
    h.shown_message("codex login").await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_backend_is_a_warning_that_points_at_the_settings() {
    let launcher = FakeLauncher::failing(BackendError::NotFound {
        path: "codex-in-process-fake".into(),
    });
    let mut h = Harness::start(launcher).await;
    let uri = h.open("m.rs", "line one\nline two\n", None).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "nf"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("nf")).await;
    assert_eq!(end["codex"]["error"]["code"], "backend-unavailable");
    let published = h.diagnostics(&uri).await;
    let d = &published["diagnostics"][0];
    assert_eq!(d["severity"], WARNING, "{d}");
    assert_eq!(d["data"]["retry"]["command"], "codex.run", "{d}");
    let actions = failure_actions(&mut h, &uri, d).await;
    let titles: Vec<&str> = actions.iter().map(|(title, _)| title.as_str()).collect();
    assert_eq!(titles, ["Codex: Retry", "Codex: Open settings"]);
    let command = &actions[1].1["command"];
    assert_eq!(command["command"], "codex.openSettings");
    h.command("codex.openSettings", json!({})).await.unwrap();
    let shown = h.shown_message("codexPath").await;
    assert!(
        shown["message"]
            .as_str()
            .unwrap()
            .contains("codex-in-process-fake"),
        "{shown}"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_after_a_failure_adds_nothing_and_the_failure_stays() {
    let mut h = Harness::start(FakeLauncher::playing(&["http500", "hang-interrupt"])).await;
    let uri = h
        .open("c.rs", "fn c() {\n    loop {}\n}\n", Some("x"))
        .await;
    let end = explain(&mut h, &uri, range(1, 0, 1, 11), "fails").await;
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"].as_array().unwrap().len(), 1);

    let token = json!("cancel-me");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": token}))
        .await;
    assert_eq!(h.next_progress(&token).await["kind"], "begin");
    h.client
        .notify("window/workDoneProgress/cancel", json!({"token": token}))
        .await;
    let (_, end) = h.rest_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    assert_eq!(end["message"], "Cancelled");
    // `finish` checks that nothing was published for the cancel.
    h.finish().await;
}
