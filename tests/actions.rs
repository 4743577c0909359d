//! In-process end-to-end tests of the actions that act on the editor: edit
//! runs applied with `workspace/applyEdit` (re-anchored, or refused when the
//! selection changed), reviews into diagnostics, approvals through
//! `window/showMessageRequest`, user-defined actions, conversations, and
//! agent file changes merged into unsaved buffers. The fake app-server
//! replays recorded turns with the answer replaced by structured JSON.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use codex_ls::fuzzing::fake_app_server::Transcript;
use serde_json::{Value, json};
use support::harness::{FakeLauncher, Harness, WAIT, range, transcript};

/// A client that streams, asks approvals, and applies versioned edits.
fn editor_caps() -> Value {
    json!({
        "window": {"workDoneProgress": true, "showMessage": {}},
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}},
        "general": {"positionEncodings": ["utf-16"]}
    })
}

fn edit_answer(replacement: &str) -> String {
    json!({"replacement": replacement, "explanation": "returns two"}).to_string()
}

const SOURCE: &str = "// head\nfn x() {\n    1\n}\n";
const REPLACEMENT: &str = "fn x() -> i32 {\n    2\n}";

async fn editor(transcripts: Vec<Transcript>, options: Value) -> Harness {
    Harness::start_with(FakeLauncher::replaying(transcripts), editor_caps(), options).await
}

/// The single TextEdit of a versioned `workspace/applyEdit`.
fn only_edit(params: &Value) -> (&Value, &Value) {
    let change = &params["edit"]["documentChanges"][0];
    (&change["textDocument"], &change["edits"][0])
}

/// Sends `command` on lines 2-4 of `uri` with progress token `token` and
/// the `extra` arguments; it must be accepted.
async fn on_lines_2_to_4(h: &mut Harness, command: &str, uri: &str, extra: Value, token: &Value) {
    let mut args =
        json!({"textDocument": {"uri": uri}, "range": range(1, 0, 3, 1), "progressToken": token});
    if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
        args.extend(extra.clone());
    }
    h.command(command, args)
        .await
        .unwrap_or_else(|err| panic!("{command} was rejected: {err}"));
}

/// Starts an editor whose Codex answers every turn with `answer`, opens
/// `x.rs` (SOURCE, saved) and sends `command` with `extra` arguments on its
/// lines 2-4 with progress token `token`. Returns the harness and the URI.
async fn edit_command(
    answer: &str,
    command: &str,
    extra: Value,
    token: &Value,
) -> (Harness, String) {
    let mut h = editor(vec![transcript("ok").with_answer(answer)], json!({})).await;
    let uri = h.open("x.rs", SOURCE, Some(SOURCE)).await;
    on_lines_2_to_4(&mut h, command, &uri, extra, token).await;
    (h, uri)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewrite_asks_for_structured_output_and_applies_one_versioned_edit() {
    let token = json!("rewrite");
    let answer = edit_answer(REPLACEMENT);
    let (mut h, _) = edit_command(
        &answer,
        "codex.rewrite",
        json!({"preset": "simplify"}),
        &token,
    )
    .await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let (document, edit) = only_edit(&params);
    assert_eq!(document["version"], 1);
    assert_eq!(edit["range"], range(1, 0, 3, 1));
    assert_eq!(edit["newText"], REPLACEMENT);
    assert!(
        params["edit"].get("changeAnnotations").is_none(),
        "no preview unless asked"
    );
    h.client.respond(id, json!({"applied": true})).await;
    let (begin, _, end) = h.progress_until_end(&token).await;
    assert_eq!(begin["title"], "Codex: Rewrite");
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(end["codex"]["edit"]["status"], "applied");
    assert_eq!(end["codex"]["edit"]["replacement"], REPLACEMENT);
    assert_eq!(end["message"], "Edit applied. returns two");
    let turn = &h.launcher.fake(0).received_method("turn/start")[0]["params"];
    assert_eq!(
        turn["outputSchema"]["required"],
        json!(["replacement", "explanation"])
    );
    assert!(
        turn["input"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Simplify the selected code")
    );
    h.finish().await;
}

/// Runs an edit on the approval transcript, which blocks until the approval
/// is answered: the test edits the document meanwhile, then lets it go on.
async fn edit_while_user_types(change: Value) -> (Harness, String, Value) {
    let approval = transcript("approval").with_answer(&edit_answer(REPLACEMENT));
    let mut h = editor(vec![approval], json!({})).await;
    let uri = h.open("x.rs", SOURCE, Some(SOURCE)).await;
    let token = json!("typing");
    on_lines_2_to_4(&mut h, "codex.rewrite", &uri, json!({}), &token).await;
    let (id, _) = h
        .client
        .expect_request("window/showMessageRequest", WAIT)
        .await;
    h.client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]}),
        )
        .await;
    h.client.respond(id, json!({"title": "Decline"})).await;
    (h, uri, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_follows_its_text_when_the_user_typed_above_it() {
    let typed = json!({"range": range(0, 0, 0, 0), "text": "// 😀 new\n"});
    let (mut h, _uri, token) = edit_while_user_types(typed).await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let (document, edit) = only_edit(&params);
    assert_eq!(document["version"], 2);
    assert_eq!(edit["range"], range(2, 0, 4, 1), "moved down one line");
    h.client.respond(id, json!({"applied": true})).await;
    let (_, end) = h.rest_until_end(&token).await;
    assert_eq!(end["codex"]["edit"]["status"], "applied", "{end}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_whose_text_changed_is_kept_and_reported_not_applied() {
    let typed = json!({"range": range(2, 4, 2, 5), "text": "42"});
    let (mut h, uri, token) = edit_while_user_types(typed).await;
    let (_, end) = h.rest_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(end["codex"]["edit"]["status"], "notApplied");
    assert_eq!(
        end["codex"]["edit"]["replacement"], REPLACEMENT,
        "nothing is lost"
    );
    let published = h.diagnostics(&uri).await;
    let diagnostic = &published["diagnostics"][0];
    assert_eq!(diagnostic["code"], "document-changed");
    assert!(
        diagnostic["message"]
            .as_str()
            .unwrap()
            .contains("not applied"),
        "{diagnostic}"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_edit_says_so_and_keeps_the_replacement() {
    let token = json!("reject");
    let answer = edit_answer(REPLACEMENT);
    let extra = json!({"instruction": "make it return 2"});
    let (mut h, _) = edit_command(&answer, "codex.rewrite", extra, &token).await;
    let (id, _) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    h.client
        .respond(
            id,
            json!({"applied": false, "failureReason": "read-only buffer"}),
        )
        .await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["edit"]["status"], "rejected", "{end}");
    assert_eq!(end["codex"]["edit"]["reason"], "read-only buffer");
    assert_eq!(end["codex"]["edit"]["replacement"], REPLACEMENT);
    h.shown_message("read-only buffer").await;
    let prompt = h.launcher.asked(0).prompt;
    assert!(prompt.contains("Instruction: make it return 2"), "{prompt}");
    h.finish().await;
}

/// A preview no longer goes through change annotations where the client
/// has them (VS Code's Refactor Preview): it is a proposal in every client,
/// and nothing is sent to apply until `codex.applyProposal` (see
/// tests/proposals.rs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_is_proposed_even_where_the_editor_has_change_annotations() {
    let mut caps = editor_caps();
    caps["workspace"]["workspaceEdit"]["changeAnnotationSupport"] = json!({"groupsOnLabel": true});
    let launcher = FakeLauncher::replaying(vec![
        transcript("ok").with_answer(&edit_answer(REPLACEMENT)),
    ]);
    let mut h = Harness::start_with(launcher, caps, json!({"editPreview": true})).await;
    let uri = h.open("x.rs", SOURCE, Some(SOURCE)).await;
    let token = json!("preview");
    let diagnostics = json!({"diagnostics": [
        {"range": range(2, 4, 2, 5), "message": "expected i32", "source": "rustc", "code": "E0308"}
    ]});
    on_lines_2_to_4(&mut h, "codex.fix", &uri, diagnostics, &token).await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["edit"]["status"], "proposed", "{end}");
    assert_eq!(end["codex"]["edit"]["version"], 1);
    assert_eq!(end["message"], "Edit proposed. returns two");
    let prompt = h.launcher.asked(0).prompt;
    assert!(
        prompt.contains("[rustc E0308] line 3: expected i32"),
        "{prompt}"
    );
    // `finish` fails on the applyEdit the old preview sent.
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_in_edit_mode_are_inserted_at_the_end_of_the_file() {
    let tests = "#[cfg(test)]\nmod tests {}";
    let token = json!("tests");
    let answer = edit_answer(tests);
    let (mut h, _) = edit_command(&answer, "codex.tests", json!({"mode": "edit"}), &token).await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let (_, edit) = only_edit(&params);
    assert_eq!(edit["range"], range(4, 0, 4, 0));
    assert_eq!(edit["newText"], format!("\n{tests}\n"));
    h.client.respond(id, json!({"applied": true})).await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["edit"]["status"], "applied");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_answer_that_is_not_json_fails_with_invalid_answer() {
    let token = json!("prose");
    let prose = "Sure! Here is a better version of the function.";
    let (mut h, uri) = edit_command(prose, "codex.rewrite", json!({}), &token).await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "failed");
    assert_eq!(end["codex"]["error"]["code"], "invalid-answer");
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"][0]["code"], "invalid-answer");
    let empty = h
        .command(
            "codex.rewrite",
            json!({"textDocument": {"uri": uri}, "range": range(1, 0, 1, 0)}),
        )
        .await
        .unwrap_err();
    assert!(
        empty["message"]
            .as_str()
            .unwrap()
            .contains("non-empty `range`"),
        "{empty}"
    );
    h.finish().await;
}

fn review_answer(findings: Value) -> String {
    json!({"findings": findings}).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_publishes_valid_findings_that_a_quick_fix_applies_and_clear_removes() {
    let first = review_answer(json!([
        {"startLine": 3, "endLine": 3, "severity": "warning", "message": "magic number", "suggestion": "    ONE"},
        {"startLine": 9, "endLine": 12, "severity": "error", "message": "past the end", "suggestion": null},
        {"startLine": 1, "endLine": 1, "severity": "hint", "message": "outside the selection", "suggestion": null}
    ]));
    let second = review_answer(json!([
        {"startLine": 2, "endLine": 4, "severity": "information", "message": "fine now", "suggestion": null}
    ]));
    let turns = vec![
        transcript("ok").with_answer(&first),
        transcript("ok").with_answer(&second),
    ];
    let mut h = editor(turns, json!({})).await;
    let uri = h.open("x.rs", SOURCE, Some(SOURCE)).await;
    let token = json!("review-1");
    on_lines_2_to_4(&mut h, "codex.review", &uri, json!({}), &token).await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["findings"], 1, "{end}");
    assert!(
        end["message"]
            .as_str()
            .unwrap()
            .starts_with("Review: 1 finding: line"),
        "{end}"
    );
    let turn = &h.launcher.fake(0).received_method("turn/start")[0]["params"];
    assert!(turn["outputSchema"]["properties"]["findings"].is_object());
    let published = h.diagnostics(&uri).await;
    let diagnostics = published["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{published}");
    let finding = &diagnostics[0];
    assert_eq!(finding["source"], "codex-review");
    assert_eq!(finding["severity"], 2);
    assert_eq!(finding["range"], range(2, 0, 2, 5));

    let actions = h
        .client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range(2, 0, 2, 0),
                   "context": {"diagnostics": [finding], "only": ["quickfix"]}}),
        )
        .await
        .unwrap();
    let apply = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Codex: Apply suggestion")
        .expect("an apply-suggestion quick fix");
    let edit = &apply["edit"]["changes"][&uri][0];
    assert_eq!(edit["range"], range(2, 0, 3, 0));
    assert_eq!(edit["newText"], "    ONE\n");

    // A second review of lines 2-4 replaces the findings there.
    let token = json!("review-2");
    on_lines_2_to_4(&mut h, "codex.review", &uri, json!({}), &token).await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    let published = h.diagnostics(&uri).await;
    let messages: Vec<&str> = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["fine now"]);
    let cleared = h
        .command("codex.clearReview", json!({"textDocument": {"uri": uri}}))
        .await
        .unwrap();
    assert_eq!(cleared["cleared"], 1);
    assert_eq!(h.diagnostics(&uri).await["diagnostics"], json!([]));
    h.finish().await;
}

/// Runs on the approval transcript and answers its command approval with
/// `answer` (None: the client cannot ask). Returns what the fake received
/// as the approval's answer.
async fn approval_answered(caps: Value, answer: Option<Value>) -> Value {
    let launcher = FakeLauncher::replaying(vec![transcript("approval")]);
    let mut h = Harness::start_with(launcher, caps, json!({})).await;
    let uri = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    let token = json!("approval");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Make a file", "progressToken": token}))
        .await;
    if let Some(answer) = answer {
        let (id, params) = h
            .client
            .expect_request("window/showMessageRequest", WAIT)
            .await;
        let message = params["message"].as_str().unwrap();
        assert!(
            message.starts_with("Codex wants to run a command:"),
            "{message}"
        );
        assert!(
            message.contains("echo hi > created-by-mock.txt"),
            "{message}"
        );
        assert!(
            message.contains("Reason: The mock wants to write created-by-mock.txt"),
            "{message}"
        );
        let titles: Vec<&str> = params["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap())
            .collect();
        assert!(
            titles.contains(&"Accept") && titles.contains(&"Decline"),
            "{titles:?}"
        );
        h.client.respond(id, answer).await;
    } else {
        // Declined without asking: the editor's log says so.
        let logged = h
            .client
            .expect_notification("window/logMessage", WAIT)
            .await;
        let logged = logged["message"].as_str().unwrap_or_default();
        assert!(
            logged.ends_with("declined because this editor cannot show approval prompts"),
            "{logged}"
        );
    }
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    let fake = h.launcher.fake(0);
    let responses: Vec<Value> = fake
        .received()
        .into_iter()
        .filter(|m| m.get("method").is_none() && m.get("result").is_some())
        .collect();
    assert_eq!(
        responses.len(),
        1,
        "one answer to the approval: {responses:?}"
    );
    h.finish().await;
    responses[0]["result"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_accepted_in_the_editor_is_accepted() {
    let result = approval_answered(editor_caps(), Some(json!({"title": "Accept"}))).await;
    assert_eq!(result, json!({"decision": "accept"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_declined_or_dismissed_in_the_editor_is_declined() {
    let result = approval_answered(editor_caps(), Some(json!({"title": "Decline"}))).await;
    assert_eq!(result, json!({"decision": "decline"}));
    let result = approval_answered(editor_caps(), Some(Value::Null)).await;
    assert_eq!(result, json!({"decision": "decline"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_nobody_answers_is_declined_after_the_timeout() {
    let launcher = FakeLauncher::replaying(vec![transcript("approval")]);
    let mut h =
        Harness::start_with(launcher, editor_caps(), json!({"approvalTimeoutSecs": 1})).await;
    let uri = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    let token = json!("unanswered");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Make a file", "progressToken": token}))
        .await;
    let (_id, _) = h
        .client
        .expect_request("window/showMessageRequest", WAIT)
        .await;
    // Never answered: the turn goes on once the timeout declines.
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    let fake = h.launcher.fake(0);
    let answer = fake
        .received()
        .into_iter()
        .find(|m| m.get("result").is_some() && m.get("method").is_none())
        .expect("the approval was answered");
    assert_eq!(answer["result"], json!({"decision": "decline"}));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_cannot_ask_gets_approvals_declined_without_a_request() {
    let mut caps = editor_caps();
    caps["window"]
        .as_object_mut()
        .unwrap()
        .remove("showMessage");
    let result = approval_answered(caps, None).await;
    assert_eq!(result, json!({"decision": "decline"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn danger_full_access_needs_the_escalation_flag() {
    let launcher = FakeLauncher::replaying(vec![transcript("ok")]);
    let mut h = Harness::start_with(
        launcher,
        editor_caps(),
        json!({"sandbox": "danger-full-access"}),
    )
    .await;
    let uri = h.open("d.rs", "fn d() {}\n", Some("fn d() {}\n")).await;
    let token = json!("danger");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "x", "progressToken": token}))
        .await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["error"]["code"], "configuration");
    assert!(
        end["codex"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("allowPrivilegedEscalation"),
        "{end}"
    );
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"][0]["code"], "configuration");
    assert_eq!(h.launcher.launches(), 0, "refused before codex starts");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_actions_fill_their_template_and_bad_ones_are_named() {
    let actions = json!({"actions": [
        {"title": "Port", "prompt": "Port this {language} from {file}: {selection} ({instruction})", "mode": "answer"}
    ]});
    let mut h = editor(vec![transcript("ok")], actions).await;
    let uri = h.open("p.rs", SOURCE, Some(SOURCE)).await;
    let listed = h
        .client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range(2, 0, 2, 5), "context": {"diagnostics": [], "only": ["refactor.codex.action"]}}),
        )
        .await
        .unwrap();
    assert_eq!(listed[0]["title"], "Codex: Port", "{listed}");
    let token = json!("port");
    h.command(
        "codex.action",
        json!({"textDocument": {"uri": uri}, "range": range(2, 0, 2, 5), "title": "Port", "instruction": "to Go", "progressToken": token}),
    )
    .await
    .unwrap();
    let (begin, _, end) = h.progress_until_end(&token).await;
    assert_eq!(begin["title"], "Codex: Port");
    assert_eq!(end["codex"]["status"], "completed");
    let prompt = h.launcher.asked(0).prompt;
    assert!(prompt.starts_with("Port this rust from /"), "{prompt}");
    assert!(prompt.contains("p.rs:     1 (to Go)"), "{prompt}");
    let unknown = h
        .command(
            "codex.action",
            json!({"textDocument": {"uri": uri}, "title": "Nope"}),
        )
        .await
        .unwrap_err();
    assert!(
        unknown["message"].as_str().unwrap().contains("known: Port"),
        "{unknown}"
    );

    h.client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"codex": {"actions": [{"title": "Bad", "prompt": "Fix {selction}"}]}}}),
        )
        .await;
    let shown = h.shown_message("\"Bad\"").await;
    let message = shown["message"].as_str().unwrap();
    assert!(message.contains("{selction}"), "{message}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_continue_reset_and_can_span_the_workspace() {
    let mut h = editor(vec![transcript("ok")], json!({})).await;
    let a = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    let b = h.open("b.rs", "fn b() {}\n", Some("fn b() {}\n")).await;
    run(&mut h, &a, "document", "a1").await;
    run(&mut h, &a, "document", "a2").await;
    run(&mut h, &a, "workspace", "w1").await;
    run(&mut h, &b, "workspace", "w2").await;
    let fake = h.launcher.fake(0);
    assert_eq!(
        fake.received_method("thread/start").len(),
        2,
        "one per conversation"
    );
    let status = h.status().await;
    let threads = status["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 2, "{status}");
    let document = threads.iter().find(|t| t["scope"] == "document").unwrap();
    assert_eq!(document["uri"], a);
    assert_eq!(document["turns"], 2);
    let workspace = threads.iter().find(|t| t["scope"] == "workspace").unwrap();
    assert_eq!(workspace["turns"], 2);
    assert!(workspace["folder"].is_string());

    let reset = h
        .command("codex.newThread", json!({"textDocument": {"uri": a}}))
        .await
        .unwrap();
    assert_eq!(reset["threadReset"], true);
    run(&mut h, &a, "document", "a3").await;
    assert_eq!(
        fake.received_method("thread/start").len(),
        3,
        "a fresh thread after newThread"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_whose_uri_reads_like_a_workspace_key_has_its_own_conversation() {
    let mut h = editor(vec![transcript("ok")], json!({})).await;
    let a = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    run(&mut h, &a, "workspace", "shared").await;
    let status = h.status().await;
    let folder = status["threads"][0]["folder"].as_str().unwrap().to_string();
    // Not a file URI, so handled like an untitled buffer; its conversation
    // is its own, however its URI reads.
    let lookalike = format!("workspace:{folder}");
    h.open_uri(&lookalike, "notes\n").await;
    run(&mut h, &lookalike, "document", "own").await;
    let fake = h.launcher.fake(0);
    assert_eq!(
        fake.received_method("thread/start").len(),
        2,
        "the document must not continue the workspace's thread"
    );
    let status = h.status().await;
    let threads = status["threads"].as_array().unwrap();
    assert_eq!(threads.len(), 2, "{status}");
    let document = threads.iter().find(|t| t["scope"] == "document").unwrap();
    assert_eq!(document["uri"], lookalike, "{status}");
    h.finish().await;
}

async fn run(h: &mut Harness, uri: &str, scope: &str, name: &str) {
    let token = json!(name);
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Hi", "scope": scope, "progressToken": token}))
        .await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
}

fn diff_change(path: &str, diff: &str) -> Value {
    json!([{"path": path, "kind": {"type": "update", "move_path": null}, "diff": diff}])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_change_reaches_a_dirty_buffer_without_losing_the_users_edits() {
    let on_disk_before = "fn a() {\n    1\n}\n\nfn b() {}\n";
    let agent_wrote = "fn a() {\n    2\n}\n\nfn b() {}\n";
    let diff = "@@ -1,3 +1,3 @@\n fn a() {\n-    1\n+    2\n }\n";
    let changes = diff_change("f.rs", diff);
    let mut h = editor(
        vec![transcript("ok").with_file_change(changes)],
        json!({"sandbox": "workspace-write"}),
    )
    .await;
    // The user's unsaved edit: a comment at the end.
    let dirty = format!("{on_disk_before}// mine\n");
    let uri = h.open("f.rs", &dirty, Some(agent_wrote)).await;
    let token = json!("agent-writes");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Change a", "progressToken": token}))
        .await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let (document, edit) = only_edit(&params);
    assert_eq!(document["version"], 1);
    assert_eq!(edit["range"], range(1, 0, 2, 0));
    assert_eq!(edit["newText"], "    2\n");
    h.client.respond(id, json!({"applied": true})).await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_change_that_conflicts_leaves_the_buffer_and_says_merge_conflict() {
    let diff = "@@ -1,3 +1,3 @@\n fn a() {\n-    1\n+    2\n }\n";
    let changes = diff_change("f.rs", diff);
    let mut h = editor(
        vec![transcript("ok").with_file_change(changes)],
        json!({"sandbox": "workspace-write"}),
    )
    .await;
    // The user rewrote the very line the agent changed.
    let uri = h
        .open(
            "f.rs",
            "fn a() {\n    100\n}\n",
            Some("fn a() {\n    2\n}\n"),
        )
        .await;
    let token = json!("conflict");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Change a", "progressToken": token}))
        .await;
    let published = h.diagnostics(&uri).await;
    let diagnostic = &published["diagnostics"][0];
    assert_eq!(diagnostic["code"], "merge-conflict", "{published}");
    assert!(
        diagnostic["message"].as_str().unwrap().contains("f.rs"),
        "{diagnostic}"
    );
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    // The run's success does not clear the warning it reported.
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_change_to_a_clean_buffer_shows_the_agents_version() {
    let before = "fn a() {\n    1\n}\n";
    let diff = "@@ -1,3 +1,3 @@\n fn a() {\n-    1\n+    2\n }\n";
    let mut h = editor(
        vec![transcript("ok").with_file_change(diff_change("f.rs", diff))],
        json!({"sandbox": "workspace-write"}),
    )
    .await;
    // Clean when opened; the agent then writes the file on disk.
    let uri = h.open("f.rs", before, Some(before)).await;
    std::fs::write(h.workspace.path().join("f.rs"), "fn a() {\n    2\n}\n").unwrap();
    let token = json!("clean");
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Change a", "progressToken": token}))
        .await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let (_, edit) = only_edit(&params);
    assert_eq!(edit["newText"], "    2\n");
    h.client.respond(id, json!({"applied": true})).await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    h.finish().await;
}
