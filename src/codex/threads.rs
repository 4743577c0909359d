//! Conversation management on the app-server: the wire types of
//! `thread/list`, `thread/read`, `thread/fork`, `thread/revert` and
//! `turn/steer` (checked on 0.169 and 0.171). Codex keeps threads on disk,
//! so what these read survives an editor reload and a codex-ls restart.
//! Knows nothing of LSP.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::protocol::{ApprovalPolicy, SandboxMode, TurnStatus, UserInput};

pub const THREAD_LIST: &str = "thread/list";
pub const THREAD_READ: &str = "thread/read";
pub const THREAD_FORK: &str = "thread/fork";
pub const THREAD_REVERT: &str = "thread/revert";
pub const TURN_STEER: &str = "turn/steer";

/// How `thread/list` sorts (`ThreadSortKey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThreadSortKey {
    CreatedAt,
    UpdatedAt,
}

/// `thread/list`: the threads whose session ran in `cwd`, newest first (the
/// server's default direction).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadListParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort_key: Option<ThreadSortKey>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ThreadListResult {
    pub data: Vec<ThreadRecord>,
}

/// `thread/read`; with `include_turns` the turns come with their items.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadReadParams {
    pub thread_id: String,
    pub include_turns: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ThreadReadResult {
    pub thread: ThreadRecord,
}

/// A thread as `thread/list` and `thread/read` give it (`Thread`): only
/// the fields codex-ls shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadRecord {
    pub id: String,
    /// The user's title, when one was set (`thread/name/set`).
    #[serde(default)]
    pub name: Option<String>,
    /// Usually the first user message.
    #[serde(default)]
    pub preview: String,
    /// Unix seconds.
    #[serde(default)]
    pub updated_at: Option<i64>,
    #[serde(default)]
    pub cwd: Option<Value>,
    /// Only filled by `thread/read` with `includeTurns` (and by resume and
    /// fork); empty on `thread/list`.
    #[serde(default)]
    pub turns: Vec<TurnRecord>,
}

/// A turn of a thread's history (`Turn`), with its items as sent: they are
/// the same `ThreadItem`s the turn's notifications carried.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnRecord {
    pub id: String,
    pub status: TurnStatus,
    #[serde(default)]
    pub items: Vec<Value>,
    /// Unix seconds.
    #[serde(default)]
    pub started_at: Option<i64>,
}

/// `thread/fork`: a new thread with the history of `thread_id`, through
/// `last_turn_id` when given. Turns are not asked for: the fork is only
/// bound, then read on demand.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadForkParams {
    pub thread_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_turn_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval_policy: Option<ApprovalPolicy>,
    pub exclude_turns: bool,
}

/// `thread/revert`: drops `before_turn_id` and every later turn from the
/// thread's history (the model's, not the files on disk).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadRevertParams {
    pub thread_id: String,
    pub before_turn_id: String,
}

/// `turn/steer`: more input for the running turn `expected_turn_id`; codex
/// refuses it when another turn (or none) runs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnSteerParams {
    pub thread_id: String,
    pub expected_turn_id: String,
    pub input: Vec<UserInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnSteerResult {
    pub turn_id: String,
}

/// The text of a `userMessage` item: its text inputs joined, `None` for
/// any other item.
pub fn user_message_text(item: &Value) -> Option<String> {
    if item.get("type").and_then(Value::as_str) != Some("userMessage") {
        return None;
    }
    let texts: Vec<&str> = item
        .get("content")?
        .as_array()?
        .iter()
        .filter(|input| input.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|input| input.get("text").and_then(Value::as_str))
        .collect();
    Some(texts.join("\n"))
}

/// The text of an `agentMessage` item, `None` for any other item.
pub fn agent_message_text(item: &Value) -> Option<&str> {
    if item.get("type").and_then(Value::as_str) != Some("agentMessage") {
        return None;
    }
    item.get("text").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_read_thread_decodes_with_its_turns_and_ignores_unknown_fields() {
        let read: ThreadReadResult = serde_json::from_value(json!({"thread": {
            "id": "t1", "name": null, "preview": "Why?", "updatedAt": 1700000000,
            "cwd": "/ws", "ephemeral": false, "status": {"type": "idle"},
            "turns": [{"id": "u1", "status": "completed", "startedAt": 1699999999,
                "items": [{"type": "userMessage", "id": "i1", "content": [
                    {"type": "text", "text": "Why?", "text_elements": []},
                    {"type": "localImage", "path": "/x.png"}]},
                    {"type": "agentMessage", "id": "i2", "text": "Because."}]}]
        }}))
        .unwrap();
        let turn = &read.thread.turns[0];
        assert_eq!(turn.status, TurnStatus::Completed);
        assert_eq!(turn.started_at, Some(1699999999));
        assert_eq!(user_message_text(&turn.items[0]).as_deref(), Some("Why?"));
        assert_eq!(user_message_text(&turn.items[1]), None);
        assert_eq!(agent_message_text(&turn.items[1]), Some("Because."));
    }

    #[test]
    fn requests_carry_the_schema_names() {
        let list = serde_json::to_value(ThreadListParams {
            cwd: Some("/ws".into()),
            limit: Some(5),
            sort_key: Some(ThreadSortKey::UpdatedAt),
        })
        .unwrap();
        assert_eq!(
            list,
            json!({"cwd": "/ws", "limit": 5, "sortKey": "updated_at"})
        );
        let revert = serde_json::to_value(ThreadRevertParams {
            thread_id: "t".into(),
            before_turn_id: "u".into(),
        })
        .unwrap();
        assert_eq!(revert, json!({"threadId": "t", "beforeTurnId": "u"}));
        let steer = serde_json::to_value(TurnSteerParams {
            thread_id: "t".into(),
            expected_turn_id: "u".into(),
            input: vec![],
        })
        .unwrap();
        assert_eq!(
            steer,
            json!({"threadId": "t", "expectedTurnId": "u", "input": []})
        );
    }
}
