//! In-process end-to-end tests of what generic LSP clients (Helix, Emacs
//! with eglot, Kakoune with kak-lsp) show: clients that pass no progress
//! token, may not show documents, show only a progress message or one
//! status line, and may not show approval prompts. Each test plays the
//! recorded transcripts through the fake app-server.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use support::harness::{FakeLauncher, Harness, WAIT, answers_folder, range, transcript};

/// The answer file a message names on its first line
/// (`<title>: the whole answer is in <path>`), checked against its last
/// line (`(Whole answer: <path>)`).
fn file_named_in(message: &str) -> PathBuf {
    let first = message.lines().next().unwrap_or_default();
    let (_, path) = first
        .split_once("the whole answer is in ")
        .unwrap_or_else(|| panic!("no answer file on the first line: {message}"));
    let last = message.lines().last().unwrap_or_default();
    assert_eq!(
        last,
        format!("(Whole answer: {path})"),
        "the last line names the file too: {message}"
    );
    PathBuf::from(path)
}

/// `<stamp>-<file>-<title>.md` with a sortable UTC stamp (`20261202T135334Z`).
fn assert_readable_name(path: &Path, file_and_title: &str) {
    let name = path.file_name().unwrap().to_str().unwrap();
    let (stamp, rest) = name.split_at(16);
    assert!(
        stamp.len() == 16
            && stamp[..8].chars().all(|c| c.is_ascii_digit())
            && &stamp[8..9] == "T"
            && stamp[9..15].chars().all(|c| c.is_ascii_digit())
            && stamp.ends_with('Z'),
        "stamp of {name}"
    );
    // A second answer of the same kind in the same second gets `-2`, ...
    let numbered = rest
        .strip_prefix(&format!("-{file_and_title}-"))
        .and_then(|rest| rest.strip_suffix(".md"))
        .is_some_and(|n| n.parse::<u32>().is_ok());
    assert!(
        rest == format!("-{file_and_title}.md") || numbered,
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_show_document_the_answer_goes_to_a_file_named_in_the_message() {
    let ok = transcript("ok");
    let caps = json!({"general": {"positionEncodings": ["utf-16"]}});
    let mut h = Harness::start_with(FakeLauncher::playing(&["ok"]), caps, json!({})).await;
    let folder = answers_folder(h.workspace.path());
    let uri = h.open("g.rs", "fn g() {}\n", Some("fn g() {}\n")).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "What does g do?\nBe brief."}))
        .await;
    let shown = h.shown_message("the whole answer is in").await;
    assert_eq!(shown["type"], 3, "{shown}");
    let message = shown["message"].as_str().unwrap();
    let answer = ok.assistant_text().unwrap();
    assert!(message.contains(answer.trim_end()), "{message}");
    let path = file_named_in(message);
    assert!(path.starts_with(&folder), "{}", path.display());
    assert_readable_name(&path, "g.rs-run");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let markdown = std::fs::read_to_string(&path).unwrap();
    // The prompt at the top, then the answer.
    let prompt_at = markdown.find("> What does g do?\n> Be brief.\n");
    let answer_at = markdown.find(answer.as_str());
    assert!(
        markdown.starts_with("# Codex: Run\n") && prompt_at.is_some() && prompt_at < answer_at,
        "{markdown}"
    );
    std::fs::remove_dir_all(&folder).unwrap();
    h.finish().await; // no $/progress, no create request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_file_the_client_fails_or_declines_to_show_is_named_in_a_message() {
    let caps = json!({
        "window": {"workDoneProgress": true, "showDocument": {"support": true}},
        "general": {"positionEncodings": ["utf-16"]},
    });
    let mut h = Harness::start_with(FakeLauncher::playing(&["ok"]), caps, json!({})).await;
    let folder = answers_folder(h.workspace.path());
    let uri = h.open("g.rs", "fn g() {}\n", Some("fn g() {}\n")).await;
    h.client
        .auto_respond("window/workDoneProgress/create", Value::Null);
    for failure in ["error", "declined"] {
        let started = h
            .command(
                "codex.explain",
                json!({"textDocument": {"uri": uri}, "range": range(0, 0, 0, 9)}),
            )
            .await
            .unwrap();
        let (begin, reports, end) = h.progress_until_end(&started["token"]).await;
        assert_eq!(begin["message"], "Codex is working… line 1");
        // Reports of text say the answer's tail (a report of steps alone,
        // such as codex's start-up notices, says the step).
        assert!(
            reports
                .iter()
                .filter(|r| r["codex"]["delta"] != "")
                .all(|r| r["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Writing the answer")),
            "{reports:?}"
        );
        let answer_file = end["codex"]["answerFile"].as_str().expect("answerFile");
        assert_eq!(end["message"], format!("Codex answered: {answer_file}"));
        assert_readable_name(Path::new(answer_file), "g.rs-explain");
        let (id, _) = h.client.expect_request("window/showDocument", WAIT).await;
        match failure {
            "error" => h.client.respond_error(id, -32603, "no window").await,
            _ => h.client.respond(id, json!({"success": false})).await,
        }
        let shown = h.shown_message("the whole answer is in").await;
        let named = file_named_in(shown["message"].as_str().unwrap());
        assert_eq!(named, PathBuf::from(answer_file), "{failure}");
        assert!(named.exists());
    }
    std::fs::remove_dir_all(&folder).unwrap();
    h.finish().await;
}

/// A client that streams and applies versioned edits, but shows no
/// approval prompts (no `window.showMessage`), like eglot before 1.18.
fn generic_editor_caps() -> Value {
    json!({
        "window": {"workDoneProgress": true},
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}},
        "general": {"positionEncodings": ["utf-16"]}
    })
}

const SOURCE: &str = "// head\nfn x() {\n    1\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_and_review_runs_show_human_text_and_never_their_json() {
    let edit =
        json!({"replacement": "fn x() -> i32 {\n    2\n}", "explanation": "Returns two\nnow."});
    let review = json!({"findings": [{"startLine": 3, "endLine": 3, "severity": "warning",
        "message": "A bare literal\nhas no effect.", "suggestion": null}]});
    let launcher = FakeLauncher::replaying(vec![
        transcript("ok").with_answer(&edit.to_string()),
        transcript("ok").with_answer(&review.to_string()),
    ]);
    let mut h = Harness::start_with(launcher, generic_editor_caps(), json!({})).await;
    let uri = h.open("x.rs", SOURCE, Some(SOURCE)).await;
    // As Helix does: no token of its own; the server creates one.
    h.client
        .auto_respond("window/workDoneProgress/create", Value::Null);

    let started = h
        .command(
            "codex.rewrite",
            json!({"textDocument": {"uri": uri}, "range": range(1, 0, 3, 1)}),
        )
        .await
        .unwrap();
    let token = started["token"].clone();
    let (id, _) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    h.client.respond(id, json!({"applied": true})).await;
    let (begin, reports, end) = h.progress_until_end(&token).await;
    assert_eq!(begin["message"], "Codex is working… lines 2-4");
    assert!(!reports.is_empty());
    for report in &reports {
        assert_eq!(report["message"], "Codex is writing the edit…", "{report}");
    }
    assert_eq!(end["codex"]["edit"]["status"], "applied", "{end}");
    assert_eq!(end["message"], "Edit applied. Returns two now.");

    let started = h
        .command(
            "codex.review",
            json!({"textDocument": {"uri": uri}, "range": range(1, 0, 3, 1)}),
        )
        .await
        .unwrap();
    let token = started["token"].clone();
    let (_, reports, end) = h.progress_until_end(&token).await;
    assert!(!reports.is_empty());
    for report in &reports {
        assert_eq!(
            report["message"], "Codex is writing the review…",
            "{report}"
        );
    }
    assert_eq!(
        end["message"],
        "Review: 1 finding: line 3: A bare literal has no effect."
    );
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"].as_array().unwrap().len(), 1);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_without_a_stream_shows_its_explanation_in_a_message() {
    let edit = json!({"replacement": "fn x() -> i32 {\n    2\n}", "explanation": "Returns two."});
    let launcher = FakeLauncher::replaying(vec![transcript("ok").with_answer(&edit.to_string())]);
    let caps = json!({
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}},
        "general": {"positionEncodings": ["utf-16"]}
    });
    let mut h = Harness::start_with(launcher, caps, json!({})).await;
    let uri = h.open("x.rs", SOURCE, Some(SOURCE)).await;
    h.command(
        "codex.rewrite",
        json!({"textDocument": {"uri": uri}, "range": range(1, 0, 3, 1)}),
    )
    .await
    .unwrap();
    let (id, _) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    h.client.respond(id, json!({"applied": true})).await;
    let shown = h.shown_message("Returns two.").await;
    assert_eq!(
        shown["message"],
        "Codex: Rewrite: Edit applied. Returns two."
    );
    h.finish().await;
}

const DECLINED: &str = "Codex asked to run `echo hi > created-by-mock.txt`; declined because this editor cannot show approval prompts";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_declined_because_the_client_cannot_ask_is_explained() {
    let launcher = FakeLauncher::replaying(vec![transcript("approval")]);
    let options = json!({"approvalPolicy": "on-request"});
    let mut h = Harness::start_with(launcher, generic_editor_caps(), options).await;
    let uri = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    let token = json!("approval");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Make a file", "progressToken": token}))
        .await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    let message = end["message"].as_str().unwrap();
    assert!(message.ends_with(&format!(". {DECLINED}")), "{message}");
    let logged = h
        .client
        .expect_notification("window/logMessage", WAIT)
        .await;
    assert_eq!(logged["message"], DECLINED);
    assert_eq!(logged["type"], 2, "a warning: {logged}");
    let answered: Vec<Value> = h
        .launcher
        .fake(0)
        .received()
        .into_iter()
        .filter(|m| m.get("method").is_none() && m.get("result").is_some())
        .map(|m| m["result"].clone())
        .collect();
    assert_eq!(answered, vec![json!({"decision": "decline"})]);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_without_a_stream_carries_the_declined_approval() {
    let launcher = FakeLauncher::replaying(vec![transcript("approval")]);
    let caps = json!({"general": {"positionEncodings": ["utf-16"]}});
    let options = json!({"approvalPolicy": "on-request"});
    let mut h = Harness::start_with(launcher, caps, options).await;
    let folder = answers_folder(h.workspace.path());
    let uri = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Make a file"}))
        .await;
    let logged = h
        .client
        .expect_notification("window/logMessage", WAIT)
        .await;
    assert_eq!(logged["message"], DECLINED);
    let shown = h.shown_message(DECLINED).await;
    let path = file_named_in(shown["message"].as_str().unwrap());
    let markdown = std::fs::read_to_string(&path).unwrap();
    assert!(markdown.contains(DECLINED), "{markdown}");
    std::fs::remove_dir_all(&folder).unwrap();
    h.finish().await;
}
