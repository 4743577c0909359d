//! The stream of one turn: the notifications of its thread, filtered to the
//! turn and decoded into the events a prompt run acts on or shows. The outcome of
//! a turn is `turn.status` on `turn/completed`: codex 0.169 sends no
//! `turn/failed` or `turn/interrupted`.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::connection::{Notification, ServerRequest, ThreadMessage, ThreadSubscription};
use super::protocol::{
    AgentMessageDelta, ErrorNotification, ItemNotification, Turn, TurnCompleted, TurnError,
};
use super::steps::{self, StepEvent};

/// What a prompt run needs to know of a turn.
#[derive(Debug, PartialEq)]
pub enum TurnEvent {
    /// A piece of an agent message. A retry streams a new item.
    AgentDelta { item_id: String, delta: String },
    /// An agent message is complete with this text.
    AgentMessageCompleted { item_id: String, text: String },
    /// codex reported an error; `will_retry` means it tries again.
    Error { error: TurnError, will_retry: bool },
    /// A `fileChange` item started (the agent proposes the change) or
    /// completed (`status` says whether it was applied). The item as sent.
    FileChange { item: Value, completed: bool },
    /// A step of the agent's work: reasoning, plan, commands, tools, usage,
    /// notices.
    Step(StepEvent),
    /// The app-server asks something (an approval); it must be answered.
    Request(ServerRequest),
    /// The turn ended.
    Completed(Turn),
}

/// Reads the events of one turn from its thread's subscription.
pub struct TurnStream {
    subscription: ThreadSubscription,
    turn_id: Option<String>,
}

impl TurnStream {
    pub fn new(subscription: ThreadSubscription) -> TurnStream {
        TurnStream {
            subscription,
            turn_id: None,
        }
    }

    /// From now on, events of other turns on the thread are skipped.
    pub fn set_turn_id(&mut self, turn_id: &str) {
        self.turn_id = Some(turn_id.to_string());
    }

    /// The next event, or `None` when the connection to the app-server has
    /// closed (it exited or crashed).
    pub async fn next(&mut self) -> Option<TurnEvent> {
        loop {
            match self.subscription.recv().await? {
                ThreadMessage::Notification(notification) => {
                    if !self.is_ours(&notification.params) {
                        continue;
                    }
                    if let Some(event) = decode(&notification) {
                        return Some(event);
                    }
                }
                // A request about another turn of the thread is declined
                // when dropped; ours goes to the run.
                ThreadMessage::Request(request) if self.is_ours(&request.params) => {
                    return Some(TurnEvent::Request(request));
                }
                ThreadMessage::Request(_) => {}
            }
        }
    }

    fn is_ours(&self, params: &Value) -> bool {
        let Some(ours) = self.turn_id.as_deref() else {
            return true;
        };
        let theirs = params
            .get("turnId")
            .or_else(|| params.get("turn").and_then(|turn| turn.get("id")))
            .and_then(Value::as_str);
        theirs.is_none_or(|theirs| theirs == ours)
    }
}

/// Decodes one notification; the ones a run does not act on, and ones that
/// do not have the promised shape, give `None`.
pub fn decode(notification: &Notification) -> Option<TurnEvent> {
    let params = &notification.params;
    match notification.method.as_str() {
        "item/agentMessage/delta" => {
            let delta: AgentMessageDelta = parse(params)?;
            Some(TurnEvent::AgentDelta {
                item_id: delta.item_id,
                delta: delta.delta,
            })
        }
        method @ ("item/started" | "item/completed") => {
            let item = parse::<ItemNotification>(params)?.item;
            let completed = method == "item/completed";
            match item.get("type").and_then(Value::as_str) {
                Some("agentMessage") if completed => Some(TurnEvent::AgentMessageCompleted {
                    item_id: item.get("id").and_then(Value::as_str)?.to_string(),
                    text: item
                        .get("text")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                }),
                Some("fileChange") => Some(TurnEvent::FileChange { item, completed }),
                _ => steps::decode(method, params).map(TurnEvent::Step),
            }
        }
        "error" => {
            let error: ErrorNotification = parse(params)?;
            Some(TurnEvent::Error {
                error: error.error,
                will_retry: error.will_retry,
            })
        }
        "turn/completed" => Some(TurnEvent::Completed(parse::<TurnCompleted>(params)?.turn)),
        method => steps::decode(method, params).map(TurnEvent::Step),
    }
}

fn parse<T: DeserializeOwned>(params: &Value) -> Option<T> {
    // Deserializes from the borrowed value: no copy per delta.
    match T::deserialize(params) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!(
                "ignoring a malformed codex notification: {}",
                super::serde_message::without_values(&err)
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::protocol::TurnStatus;
    use serde_json::json;

    fn note(method: &str, params: Value) -> Notification {
        Notification {
            method: method.to_string(),
            params,
        }
    }

    #[test]
    fn decodes_the_events_a_run_needs() {
        let delta = note(
            "item/agentMessage/delta",
            json!({"threadId": "th", "turnId": "tu", "itemId": "m1", "delta": "Hi"}),
        );
        assert_eq!(
            decode(&delta),
            Some(TurnEvent::AgentDelta {
                item_id: "m1".into(),
                delta: "Hi".into()
            })
        );
        let completed = note(
            "item/completed",
            json!({"item": {"type": "agentMessage", "id": "m1", "text": "Hi there"}, "threadId": "th", "turnId": "tu"}),
        );
        assert_eq!(
            decode(&completed),
            Some(TurnEvent::AgentMessageCompleted {
                item_id: "m1".into(),
                text: "Hi there".into()
            })
        );
        let user = note(
            "item/completed",
            json!({"item": {"type": "userMessage", "id": "u"}}),
        );
        assert_eq!(decode(&user), None);
        let error = note(
            "error",
            json!({"error": {"message": "busy", "codexErrorInfo": "internalServerError"}, "willRetry": true}),
        );
        assert!(matches!(
            decode(&error),
            Some(TurnEvent::Error {
                will_retry: true,
                ..
            })
        ));
        let done = note(
            "turn/completed",
            json!({"threadId": "th", "turn": {"id": "tu", "status": "interrupted", "error": null}}),
        );
        assert!(
            matches!(decode(&done), Some(TurnEvent::Completed(turn)) if turn.status == TurnStatus::Interrupted)
        );
        assert_eq!(
            decode(&note("item/agentMessage/delta", json!({"delta": 5}))),
            None
        );
        assert_eq!(decode(&note("thread/tokenUsage/updated", json!({}))), None);
    }
}
