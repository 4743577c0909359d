//! What the edit and review tests share: an editor that streams, asks
//! approvals and applies versioned edits; structured answers for the fake
//! app-server to give; and an edit run held on an approval while the test
//! types in the document.

#![allow(dead_code)]

use serde_json::{Value, json};

use super::harness::{FakeLauncher, Harness, WAIT, transcript};
use codex_ls::fuzzing::fake_app_server::Transcript;

/// A client that streams, asks approvals, and applies versioned edits.
pub fn editor_caps() -> Value {
    json!({
        "window": {"workDoneProgress": true, "showMessage": {}},
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}},
        "general": {"positionEncodings": ["utf-16"]}
    })
}

/// An editor with [`editor_caps`] whose Codex replays `transcripts`.
pub async fn editor(transcripts: Vec<Transcript>, options: Value) -> Harness {
    Harness::start_with(FakeLauncher::replaying(transcripts), editor_caps(), options).await
}

/// An edit run's structured answer.
pub fn edit_answer(replacement: &str) -> String {
    json!({"replacement": replacement, "explanation": "returns two"}).to_string()
}

/// A review run's structured answer.
pub fn review_answer(findings: Value) -> String {
    json!({"findings": findings}).to_string()
}

/// The single TextEdit of a versioned `workspace/applyEdit`.
pub fn only_edit(params: &Value) -> (&Value, &Value) {
    let change = &params["edit"]["documentChanges"][0];
    (&change["textDocument"], &change["edits"][0])
}

/// Sends `command` on `range` of `uri` with progress token `token` and the
/// `extra` arguments; it must be accepted.
pub async fn command_on(
    h: &mut Harness,
    command: &str,
    uri: &str,
    range: Value,
    extra: Value,
    token: &Value,
) {
    let mut args = json!({"textDocument": {"uri": uri}, "range": range, "progressToken": token});
    if let (Some(args), Some(extra)) = (args.as_object_mut(), extra.as_object()) {
        args.extend(extra.clone());
    }
    h.command(command, args)
        .await
        .unwrap_or_else(|err| panic!("{command} was rejected: {err}"));
}

/// Starts an edit `command` on `range` of `uri` on the approval transcript,
/// which blocks until its approval is answered; returns the approval's
/// request id, so the test can type (`didChange`) before letting the run go
/// on with [`decline`].
pub async fn edit_held_on_approval(
    h: &mut Harness,
    command: &str,
    uri: &str,
    range: Value,
    token: &Value,
) -> Value {
    command_on(h, command, uri, range, json!({}), token).await;
    let (id, _) = h
        .client
        .expect_request("window/showMessageRequest", WAIT)
        .await;
    id
}

/// Declines the held approval, so the run goes on to its answer.
pub async fn decline(h: &mut Harness, approval: Value) {
    h.client
        .respond(approval, json!({"title": "Decline"}))
        .await;
}

/// The approval transcript answering with `answer`.
pub fn held_turn(answer: &str) -> Transcript {
    transcript("approval").with_answer(answer)
}

/// A `didChange` of `uri` to `version` with `changes`.
pub async fn change(h: &mut Harness, uri: &str, version: i32, changes: Value) {
    h.client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
        )
        .await;
}

/// Accepts the edit run's `workspace/applyEdit` on `token` and reads the
/// run to its end, which must report the edit applied; returns the edit's
/// params.
pub async fn accept_edit(h: &mut Harness, token: &Value) -> Value {
    let (id, params) = h
        .client
        .expect_request("workspace/applyEdit", super::harness::WAIT)
        .await;
    h.client.respond(id, json!({"applied": true})).await;
    let (_, end) = h.rest_until_end(token).await;
    assert_eq!(end["codex"]["edit"]["status"], "applied", "{end}");
    params
}
