//! In-process end-to-end tests of edit proposals (issue 14, 2): a preview
//! run ends with its edit proposed and nothing applied, in any client;
//! `codex.applyProposal` lands all of it or the chosen hunks as one
//! versioned `workspace/applyEdit`, following the selection, and is refused
//! once the selected text changed; `codex.discardProposal` drops it, and
//! closing the document expires it. The fake app-server replays a recorded
//! turn with the answer replaced by the edit's JSON.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::editing::{change, command_on, editor, only_edit};
use support::harness::{Harness, WAIT, range, transcript};

/// Lines 2-4 are the selection: `fn x() {`, `    1`, `}`.
const SOURCE: &str = "// head\nfn x() {\n    1\n}\n";
/// Changes the first and the last selected line, keeps the middle one: two
/// hunks. The selection ends before a line break, so the text put in has
/// none at its end.
const REPLACEMENT: &str = "fn x() -> i32 {\n    1\n} // x";

/// LSP's `RequestFailed`.
const REQUEST_FAILED: i64 = -32803;
const INVALID_PARAMS: i64 = -32602;

fn proposal_answer() -> String {
    json!({"replacement": REPLACEMENT, "explanation": "returns i32"}).to_string()
}

/// An editor (no change-annotation support, as Neovim) with `x.rs` open,
/// where `codex.rewrite` with `preview: true` on lines 2-4 ran to its end.
/// Returns the harness, the document's URI, and the end's `codex`.
async fn proposed(options: Value, extra: Value) -> (Harness, String, Value) {
    let mut h = editor(
        vec![transcript("ok").with_answer(&proposal_answer())],
        options,
    )
    .await;
    let uri = h.open("x.rs", SOURCE, Some(SOURCE)).await;
    let token = json!("proposal");
    command_on(
        &mut h,
        "codex.rewrite",
        &uri,
        range(1, 0, 3, 1),
        extra,
        &token,
    )
    .await;
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    (h, uri, end["codex"].clone())
}

/// Sends `codex.applyProposal` with `args` without waiting for its answer
/// (the server asks the editor to apply before it answers); returns the
/// request's id for [`answer`].
async fn send_apply(h: &mut Harness, id: i64, args: Value) -> Value {
    let body = json!({
        "jsonrpc": "2.0", "id": id, "method": "workspace/executeCommand",
        "params": {"command": "codex.applyProposal", "arguments": [args]},
    })
    .to_string();
    let frame = format!("Content-Length: {}\r\n\r\n{body}", body.len());
    h.client.send_raw(frame.as_bytes()).await;
    json!(id)
}

async fn answer(h: &mut Harness, id: &Value) -> Result<Value, Value> {
    h.client.expect_response(id, WAIT).await
}

/// Asserts that `result` is the error `code` whose message contains `needle`.
fn refused(result: Result<Value, Value>, code: i64, needle: &str) {
    let err = result.expect_err("the command was to be refused");
    assert_eq!(err["code"], code, "{err}");
    let message = err["message"].as_str().unwrap_or_default();
    assert!(message.contains(needle), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_run_proposes_its_edit_with_hunks_and_applies_nothing() {
    let (mut h, _uri, codex) = proposed(json!({}), json!({"preview": true})).await;
    let edit = &codex["edit"];
    assert_eq!(edit["status"], "proposed", "{codex}");
    assert_eq!(edit["replacement"], REPLACEMENT);
    assert_eq!(edit["explanation"], "returns i32");
    assert_eq!(edit["range"], range(1, 0, 3, 1));
    assert_eq!(edit["version"], 1);
    assert_eq!(
        edit["hunks"],
        json!([
            {"index": 0, "range": range(1, 0, 2, 0),
             "oldText": "fn x() {\n", "newText": "fn x() -> i32 {\n"},
            {"index": 1, "range": range(3, 0, 3, 1), "oldText": "}", "newText": "} // x"},
        ])
    );
    // Nothing was sent to apply: `finish` fails on an unclaimed applyEdit.
    h.client.drain(support::harness::DRAIN).await;
    let asked: Vec<Value> = h
        .client
        .unclaimed()
        .into_iter()
        .filter(|message| message["method"] == "workspace/applyEdit")
        .collect();
    assert!(asked.is_empty(), "a proposal was applied: {asked:?}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_edit_preview_setting_proposes_too_and_an_applied_proposal_lands_once() {
    let (mut h, _uri, codex) = proposed(json!({"editPreview": true}), json!({})).await;
    assert_eq!(codex["edit"]["status"], "proposed", "{codex}");
    let run_id = codex["runId"].clone();

    let id = send_apply(&mut h, 900, json!({"runId": run_id})).await;
    let (edit_id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let (document, text_edit) = only_edit(&params);
    assert_eq!(document["version"], 1, "versioned on the document now");
    assert_eq!(text_edit["range"], range(1, 0, 3, 1));
    assert_eq!(text_edit["newText"], REPLACEMENT);
    assert_eq!(
        params["edit"]["documentChanges"].as_array().unwrap().len(),
        1
    );
    h.client.respond(edit_id, json!({"applied": true})).await;
    let applied = answer(&mut h, &id).await.unwrap();
    assert_eq!(
        applied,
        json!({"applied": true, "hunks": [0, 1], "range": range(1, 0, 3, 1)})
    );

    // Gone once applied: a second apply sends nothing and says why.
    let again = h
        .command("codex.applyProposal", json!({"runId": run_id}))
        .await;
    refused(again, REQUEST_FAILED, "already applied");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applying_chosen_hunks_lands_only_them_in_one_edit() {
    let (mut h, _uri, codex) = proposed(json!({}), json!({"preview": true})).await;
    let run_id = codex["runId"].clone();

    // A hunk that does not exist is refused, and the proposal kept.
    let wrong = h
        .command(
            "codex.applyProposal",
            json!({"runId": run_id, "hunks": [1, 5]}),
        )
        .await;
    refused(wrong, INVALID_PARAMS, "hunk 5 does not exist");

    let id = send_apply(&mut h, 901, json!({"runId": run_id, "hunks": [1]})).await;
    let (edit_id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let (_, text_edit) = only_edit(&params);
    assert_eq!(text_edit["range"], range(1, 0, 3, 1));
    assert_eq!(
        text_edit["newText"], "fn x() {\n    1\n} // x",
        "the first line keeps its text"
    );
    h.client.respond(edit_id, json!({"applied": true})).await;
    let applied = answer(&mut h, &id).await.unwrap();
    assert_eq!(applied["applied"], true, "{applied}");
    assert_eq!(applied["hunks"], json!([1]));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_discarded_proposal_applies_nothing_and_cannot_be_applied_later() {
    let (mut h, _uri, codex) = proposed(json!({}), json!({"preview": true})).await;
    let run_id = codex["runId"].clone();
    let discarded = h
        .command("codex.discardProposal", json!({"runId": run_id}))
        .await
        .unwrap();
    assert_eq!(discarded, json!({"discarded": true}));
    let again = h
        .command("codex.discardProposal", json!({"runId": run_id}))
        .await
        .unwrap();
    assert_eq!(again, json!({"discarded": false}));
    let late = h
        .command("codex.applyProposal", json!({"runId": run_id}))
        .await;
    refused(late, REQUEST_FAILED, "was discarded");
    let unknown = h
        .command("codex.applyProposal", json!({"runId": 4242}))
        .await;
    refused(unknown, INVALID_PARAMS, "run 4242 has no edit proposal");
    // `finish` fails on any applyEdit sent.
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_follows_its_text_and_is_refused_once_the_text_changed() {
    let (mut h, uri, codex) = proposed(json!({}), json!({"preview": true})).await;
    let run_id = codex["runId"].clone();
    // A line typed above moves the selection down.
    change(
        &mut h,
        &uri,
        2,
        json!([{"range": range(0, 0, 0, 0), "text": "// new\n"}]),
    )
    .await;
    // Then a change inside it: the selected text is no longer what Codex saw.
    change(
        &mut h,
        &uri,
        3,
        json!([{"range": range(3, 4, 3, 5), "text": "42"}]),
    )
    .await;
    let refused_apply = h
        .command("codex.applyProposal", json!({"runId": run_id}))
        .await;
    refused(refused_apply, REQUEST_FAILED, "selected text changed");
    // Kept: it can still be discarded.
    let discarded = h
        .command("codex.discardProposal", json!({"runId": run_id}))
        .await
        .unwrap();
    assert_eq!(discarded, json!({"discarded": true}));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_lands_where_its_text_moved() {
    let (mut h, uri, codex) = proposed(json!({}), json!({"preview": true})).await;
    let run_id = codex["runId"].clone();
    change(
        &mut h,
        &uri,
        2,
        json!([{"range": range(0, 0, 0, 0), "text": "// new\n"}]),
    )
    .await;
    let id = send_apply(&mut h, 902, json!({"runId": run_id})).await;
    let (edit_id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let (document, text_edit) = only_edit(&params);
    assert_eq!(document["version"], 2);
    assert_eq!(text_edit["range"], range(2, 0, 4, 1), "moved down one line");
    assert_eq!(text_edit["newText"], REPLACEMENT);
    h.client.respond(edit_id, json!({"applied": true})).await;
    assert_eq!(answer(&mut h, &id).await.unwrap()["applied"], true);
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proposal_expires_when_its_document_closes() {
    let (mut h, uri, codex) = proposed(json!({}), json!({"preview": true})).await;
    let run_id = codex["runId"].clone();
    h.client
        .notify(
            "textDocument/didClose",
            json!({"textDocument": {"uri": uri}}),
        )
        .await;
    // Reopened with the same text, the proposal is still gone.
    h.open("x.rs", SOURCE, Some(SOURCE)).await;
    let late = h
        .command("codex.applyProposal", json!({"runId": run_id}))
        .await;
    refused(late, REQUEST_FAILED, "expired: its document was closed");
    h.finish().await;
}
