//! In-process end-to-end tests of edits and review findings that follow
//! the text: an edit run's selection followed through the user's
//! incremental changes (and found again after a full sync only where it is
//! unique), replacements that keep a line-wise selection's lines, and review
//! findings that move with the text, die when their lines change or their
//! suggestion is applied, and refuse to apply on stale text.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::editing::{
    accept_edit, change, command_on, decline, edit_answer, edit_held_on_approval, editor,
    editor_caps, held_turn, only_edit, review_answer,
};
use support::harness::{FakeLauncher, Harness, WAIT, range, transcript};

/// The same line in two functions: only the selection tells them apart.
const TWO_COPIES: &str = "fn a() {\n    go();\n}\nfn b() {\n    go();\n}\n";

/// Edits `go();` of `b` (line 5, 0-based 4) while the user does `typed`.
async fn edit_b_while_typing(typed: Value) -> (Harness, String, Value) {
    let mut h = editor(vec![held_turn(&edit_answer("    go_now();"))], json!({})).await;
    let uri = h.open("two.rs", TWO_COPIES, Some(TWO_COPIES)).await;
    let token = json!("b");
    let approval =
        edit_held_on_approval(&mut h, "codex.rewrite", &uri, range(4, 0, 4, 9), &token).await;
    change(&mut h, &uri, 2, typed).await;
    decline(&mut h, approval).await;
    (h, uri, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_lands_on_the_selected_copy_when_a_line_is_typed_above() {
    // Long enough that the other copy is now nearer, in characters, to
    // where the selection was.
    let typed = json!([{"range": range(0, 0, 0, 0), "text": "// a comment typed above\n"}]);
    let (mut h, _uri, token) = edit_b_while_typing(typed).await;
    let params = accept_edit(&mut h, &token).await;
    let (document, edit) = only_edit(&params);
    assert_eq!(document["version"], 2);
    assert_eq!(edit["range"], range(5, 0, 5, 9), "b's line, moved down one");
    assert_eq!(edit["newText"], "    go_now();");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_follows_several_changes_in_one_notification() {
    // Delete a's body line, then add two lines at the top: each range is
    // relative to the text after the previous change.
    let typed = json!([
        {"range": range(1, 0, 2, 0), "text": ""},
        {"range": range(0, 0, 0, 0), "text": "use x;\nuse y;\n"}
    ]);
    let (mut h, _uri, token) = edit_b_while_typing(typed).await;
    let params = accept_edit(&mut h, &token).await;
    let (_, edit) = only_edit(&params);
    assert_eq!(edit["range"], range(5, 0, 5, 9));
    h.finish().await;
}

/// The run ends `notApplied` with the replacement kept and a
/// `document-changed` warning on the old selection.
async fn assert_not_applied(h: &mut Harness, uri: &str, token: &Value) {
    let (_, end) = h.rest_until_end(token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(end["codex"]["edit"]["status"], "notApplied", "{end}");
    assert_eq!(end["codex"]["edit"]["replacement"], "    go_now();");
    let published = h.diagnostics(uri).await;
    let diagnostic = &published["diagnostics"][0];
    assert_eq!(diagnostic["code"], "document-changed", "{published}");
    assert_eq!(diagnostic["severity"], 2);
    assert_eq!(diagnostic["range"], range(4, 0, 4, 9));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_full_sync_an_edit_whose_text_occurs_twice_is_not_applied() {
    let resent = format!("// resent\n{TWO_COPIES}");
    let (mut h, uri, token) = edit_b_while_typing(json!([{"text": resent}])).await;
    assert_not_applied(&mut h, &uri, &token).await;
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_full_sync_an_edit_whose_text_is_unique_is_found() {
    // a's copy was renamed: b's line is the only one left.
    let resent = "fn a() {\n    stop();\n}\nfn b() {\n    go();\n}\n";
    let (mut h, _uri, token) = edit_b_while_typing(json!([{"text": resent}])).await;
    let params = accept_edit(&mut h, &token).await;
    let (_, edit) = only_edit(&params);
    assert_eq!(edit["range"], range(4, 0, 4, 9));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_whose_selection_was_typed_into_is_not_applied_even_if_a_copy_remains() {
    // The user changes b's line to something else and back would still be
    // a change; here they edit it, and a's copy is untouched.
    let typed = json!([{"range": range(4, 4, 4, 6), "text": "run"}]);
    let (mut h, uri, token) = edit_b_while_typing(typed).await;
    assert_not_applied(&mut h, &uri, &token).await;
    h.finish().await;
}

const LINES: &str = "// head\nfn x() {\n    1\n}\nfn after() {}\n";

/// A configured action that edits.
fn tidy_action() -> Value {
    json!({"actions": [{"title": "Tidy", "prompt": "Tidy {selection}", "mode": "edit"}]})
}

/// Runs `command` (with `extra`) on `selection` of LINES answering
/// `replacement`; returns the applied edit's new text.
async fn applied_text(command: &str, extra: Value, selection: Value, replacement: &str) -> Value {
    let answer = edit_answer(replacement);
    let mut h = editor(vec![transcript("ok").with_answer(&answer)], tidy_action()).await;
    let uri = h.open("x.rs", LINES, Some(LINES)).await;
    let token = json!("lines");
    command_on(&mut h, command, &uri, selection, extra, &token).await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let new_text = only_edit(&params).1["newText"].clone();
    h.client.respond(id, json!({"applied": true})).await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["edit"]["status"], "applied", "{end}");
    h.finish().await;
    new_text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_wise_selection_gets_a_replacement_ending_in_one_line_break() {
    let fix = json!({"diagnostics": [{"range": range(2, 4, 2, 5), "message": "expected 2"}]});
    let whole_lines = range(1, 0, 4, 0);
    let kinds = [
        ("codex.rewrite", json!({})),
        ("codex.fix", fix),
        ("codex.action", json!({"title": "Tidy"})),
    ];
    for (command, extra) in kinds {
        // The model dropped the last break: the next line must stay apart.
        let text = applied_text(
            command,
            extra.clone(),
            whole_lines.clone(),
            "fn x() {\n    2\n}",
        )
        .await;
        assert_eq!(text, "fn x() {\n    2\n}\n", "{command}");
        // It added a blank line: no blank line is left behind.
        let text = applied_text(
            command,
            extra,
            whole_lines.clone(),
            "fn x() {\n    2\n}\n\n",
        )
        .await;
        assert_eq!(text, "fn x() {\n    2\n}\n", "{command}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selection_ending_before_a_line_break_gets_no_trailing_break() {
    // Kakoune's line-wise selection stops on the last character of `}`.
    let text = applied_text(
        "codex.rewrite",
        json!({}),
        range(1, 0, 3, 1),
        "fn x() {\n    2\n}\n",
    )
    .await;
    assert_eq!(text, "fn x() {\n    2\n}");
    // A selection ending mid-line keeps the replacement as given.
    let text = applied_text("codex.rewrite", json!({}), range(1, 3, 1, 4), "y\n").await;
    assert_eq!(text, "y\n");
    let text = applied_text("codex.rewrite", json!({}), range(0, 3, 0, 5), "HE\n").await;
    assert_eq!(text, "HE\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inserted_tests_end_in_exactly_one_line_break() {
    let extra = json!({"mode": "edit"});
    let text = applied_text(
        "codex.tests",
        extra,
        range(1, 0, 4, 0),
        "mod tests {}\n\n\n",
    )
    .await;
    assert_eq!(text, "\nmod tests {}\n");
}

const PY: &str = "def total(items):\n    return sum(items)\n\ndef average(items):\n    return total(items) / len(items)\n";
const TYPED_HINTS: &str = "def average(items: list[float]) -> float:";

/// Reviews the whole of `uri`, which must yield `findings` findings;
/// returns the published diagnostics.
async fn review_file(h: &mut Harness, uri: &str, findings: usize) -> Value {
    let token = json!("review");
    h.command(
        "codex.review",
        json!({"textDocument": {"uri": uri}, "progressToken": token}),
    )
    .await
    .unwrap();
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["findings"], findings, "{end}");
    h.diagnostics(uri).await
}

/// Reviews PY with one finding on `def average(items):` (0-based line 3)
/// suggesting type hints, in an editor with `capabilities`; returns the
/// harness, the URI and the published finding.
async fn reviewed_average(capabilities: Value) -> (Harness, String, Value) {
    let findings = review_answer(json!([
        {"startLine": 4, "endLine": 4, "severity": "hint", "message": "add type hints", "suggestion": TYPED_HINTS}
    ]));
    let launcher = FakeLauncher::replaying(vec![transcript("ok").with_answer(&findings)]);
    let mut h = Harness::start_with(launcher, capabilities, json!({})).await;
    let uri = h.open("stats.py", PY, Some(PY)).await;
    let published = review_file(&mut h, &uri, 1).await;
    let finding = published["diagnostics"][0].clone();
    assert_eq!(finding["range"], range(3, 0, 3, 19), "{published}");
    (h, uri, finding)
}

/// The "Apply suggestion" quick fix offered for `finding`, if any.
async fn apply_suggestion(h: &mut Harness, uri: &str, finding: &Value) -> Option<Value> {
    let actions = h
        .client
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": finding["range"],
                   "context": {"diagnostics": [finding], "only": ["quickfix"]}}),
        )
        .await
        .unwrap();
    actions
        .as_array()
        .into_iter()
        .flatten()
        .find(|action| action["title"] == "Codex: Apply suggestion")
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_moves_with_a_line_typed_above_and_its_fix_edits_the_right_line() {
    let (mut h, uri, stale) = reviewed_average(editor_caps()).await;
    // The suggestion is visible before applying it.
    let related = &stale["relatedInformation"][0];
    assert_eq!(related["message"], format!("Suggestion: {TYPED_HINTS}"));
    assert_eq!(related["location"]["range"], range(3, 0, 3, 19));

    change(
        &mut h,
        &uri,
        2,
        json!([{"range": range(0, 0, 0, 0), "text": "import math\n"}]),
    )
    .await;
    let published = h.diagnostics(&uri).await;
    let moved = &published["diagnostics"][0];
    assert_eq!(moved["range"], range(4, 0, 4, 19), "{published}");
    assert_eq!(moved["data"]["firstLine"], 4);
    assert_eq!(
        moved["relatedInformation"][0]["location"]["range"],
        range(4, 0, 4, 19)
    );
    assert_eq!(published["version"], 2);

    // The moved finding's fix, and the one of an editor that still shows it
    // where it was (eglot), both replace `def average(items):`, now line 4.
    for finding in [moved, &stale] {
        let action = apply_suggestion(&mut h, &uri, finding)
            .await
            .expect("an apply-suggestion quick fix");
        let edit = &action["edit"]["changes"][&uri][0];
        assert_eq!(edit["range"], range(4, 0, 5, 0), "{action}");
        assert_eq!(edit["newText"], format!("{TYPED_HINTS}\n"));
    }
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_whose_line_is_edited_is_dropped() {
    let (mut h, uri, finding) = reviewed_average(editor_caps()).await;
    // `items` renamed to `values` on the finding's own line.
    change(
        &mut h,
        &uri,
        2,
        json!([{"range": range(3, 12, 3, 17), "text": "values"}]),
    )
    .await;
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"], json!([]), "{published}");
    assert!(
        apply_suggestion(&mut h, &uri, &finding).await.is_none(),
        "no fix on changed text"
    );
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_suggestion_removes_its_finding() {
    let (mut h, uri, finding) = reviewed_average(editor_caps()).await;
    let action = apply_suggestion(&mut h, &uri, &finding).await.unwrap();
    let edit = action["edit"]["changes"][&uri][0].clone();
    // The editor applies the edit and tells the server, as it does.
    change(
        &mut h,
        &uri,
        2,
        json!([{"range": edit["range"], "text": edit["newText"]}]),
    )
    .await;
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"], json!([]), "{published}");
    h.finish().await;
}

/// An editor that resolves code actions' edits and commands.
fn resolving_caps() -> Value {
    let mut caps = editor_caps();
    caps["textDocument"] =
        json!({"codeAction": {"resolveSupport": {"properties": ["edit", "command"]}}});
    caps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_resolved_on_changed_lines_is_refused() {
    let (mut h, uri, finding) = reviewed_average(resolving_caps()).await;
    let action = apply_suggestion(&mut h, &uri, &finding).await.unwrap();
    assert!(action.get("edit").is_none(), "built on resolve: {action}");
    change(
        &mut h,
        &uri,
        2,
        json!([{"range": range(3, 12, 3, 17), "text": "values"}]),
    )
    .await;
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"], json!([]));
    let resolved = h
        .client
        .request("codeAction/resolve", action)
        .await
        .unwrap();
    assert!(resolved.get("edit").is_none(), "refused: {resolved}");
    let shown = h.shown_message("the lines it was made for changed").await;
    assert_eq!(shown["type"], 2, "a warning");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_resolved_after_a_line_was_typed_above_edits_the_moved_line() {
    let (mut h, uri, finding) = reviewed_average(resolving_caps()).await;
    let action = apply_suggestion(&mut h, &uri, &finding).await.unwrap();
    change(
        &mut h,
        &uri,
        2,
        json!([{"range": range(0, 0, 0, 0), "text": "import math\n"}]),
    )
    .await;
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"][0]["range"], range(4, 0, 4, 19));
    let resolved = h
        .client
        .request("codeAction/resolve", action)
        .await
        .unwrap();
    let edit = &resolved["edit"]["changes"][&uri][0];
    assert_eq!(edit["range"], range(4, 0, 5, 0), "{resolved}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fix_of_one_of_two_identical_findings_edits_its_own_line() {
    let source = "def a(x):\n    return x/0\n\ndef b(x):\n    return x/0\n";
    let same =
        json!({"severity": "error", "message": "division by zero", "suggestion": "    return 0"});
    let mut first = same.clone();
    first["startLine"] = json!(2);
    first["endLine"] = json!(2);
    let mut second = same;
    second["startLine"] = json!(5);
    second["endLine"] = json!(5);
    let answer = review_answer(json!([first, second]));
    let mut h = editor(vec![transcript("ok").with_answer(&answer)], json!({})).await;
    let uri = h.open("div.py", source, Some(source)).await;
    let published = review_file(&mut h, &uri, 2).await;
    let b = published["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["range"]["start"]["line"] == 4)
        .cloned()
        .expect("b's finding");
    change(
        &mut h,
        &uri,
        2,
        json!([{"range": range(0, 0, 0, 0), "text": "import os\n"}]),
    )
    .await;
    let moved = h.diagnostics(&uri).await;
    assert_eq!(moved["diagnostics"].as_array().unwrap().len(), 2, "{moved}");
    // Asked with b's finding as the editor last saw it (line 4).
    let action = apply_suggestion(&mut h, &uri, &b).await.unwrap();
    let edit = &action["edit"]["changes"][&uri][0];
    assert_eq!(
        edit["range"],
        range(5, 0, 6, 0),
        "b's line, moved: {action}"
    );
    h.finish().await;
}
