//! Why a prompt run failed, in terms a user can act on. Each variant has a
//! stable `code` that the editor shows with the diagnostic.

use std::path::PathBuf;

use serde_json::Value;
use thiserror::Error;

use crate::codex::{BackendError, RpcError};

#[derive(Debug, Clone, Error, PartialEq)]
pub enum PromptRunError {
    /// A request to the app-server failed at the JSON-RPC level.
    #[error("{0}")]
    Rpc(RpcError),
    /// Something on our side failed (e.g. writing a snapshot file).
    #[error("codex-ls could not prepare the run: {0}")]
    Runtime(String),
    /// The turn ended with status `failed`.
    #[error("{}", turn_failed_message(&.0.message, .0.codex_error_info.as_ref()))]
    TurnFailed(Box<TurnFailure>),
    /// The turn ended with status `interrupted`.
    #[error("the run was cancelled")]
    Interrupted { requested: bool },
    #[error(
        "Codex did not finish within {secs} s (`timeoutSecs`), so the run was stopped. Try a smaller selection or raise `timeoutSecs`"
    )]
    Timeout { secs: u64 },
    #[error("Codex finished without an answer; try rephrasing the prompt")]
    CompletedWithoutAssistantText,
    #[error("Codex answered with empty text; try rephrasing the prompt")]
    EmptyAssistantText,
    #[error("the attachment {} does not exist, so Codex could not read it; save the file or check the path", path.display())]
    AttachmentNotFound { path: PathBuf },
    #[error("{0}")]
    BackendUnavailable(BackendError),
    #[error(
        "the document changed since the command was sent (version {expected} requested, {actual} current); run it again"
    )]
    DocumentChanged { expected: i32, actual: i32 },
    #[error(
        "the `danger-full-access` sandbox is refused unless the codex-ls configuration sets `allowPrivilegedEscalation: true`"
    )]
    EscalationNotApproved,
    #[error("{0}")]
    InvalidAnswer(#[from] super::structured::InvalidAnswer),
}

/// What codex said of a failed turn.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnFailure {
    pub message: String,
    pub codex_error_info: Option<Value>,
    pub additional_details: Option<String>,
    pub thread_id: String,
    pub turn_id: String,
}

impl From<BackendError> for PromptRunError {
    fn from(err: BackendError) -> Self {
        PromptRunError::BackendUnavailable(err)
    }
}

impl From<RpcError> for PromptRunError {
    /// A connection that closed mid-request means the app-server died.
    fn from(err: RpcError) -> Self {
        match err {
            RpcError::Closed { .. } => PromptRunError::BackendUnavailable(BackendError::Crashed),
            other => PromptRunError::Rpc(other),
        }
    }
}

/// The documented diagnostic codes.
pub mod codes {
    pub const BACKEND_UNAVAILABLE: &str = "backend-unavailable";
    pub const UNAUTHORIZED: &str = "unauthorized";
    pub const RATE_LIMITED: &str = "rate-limited";
    pub const SERVER_ERROR: &str = "server-error";
    pub const NETWORK: &str = "network";
    pub const TIMEOUT: &str = "timeout";
    pub const TURN_FAILED: &str = "turn-failed";
    pub const EMPTY_ANSWER: &str = "empty-answer";
    pub const ATTACHMENT_NOT_FOUND: &str = "attachment-not-found";
    pub const DOCUMENT_CHANGED: &str = "document-changed";
    pub const RPC_ERROR: &str = "rpc-error";
    pub const INTERNAL: &str = "internal-error";
    pub const INTERRUPTED: &str = "interrupted";
    pub const CONFIGURATION: &str = "configuration";
    pub const INVALID_ANSWER: &str = "invalid-answer";
    pub const MERGE_CONFLICT: &str = "merge-conflict";
}

impl PromptRunError {
    /// The stable code of this failure.
    pub fn code(&self) -> &'static str {
        match self {
            PromptRunError::Rpc(_) => codes::RPC_ERROR,
            PromptRunError::Runtime(_) => codes::INTERNAL,
            PromptRunError::TurnFailed(failure) => {
                classify_turn_failure(&failure.message, failure.codex_error_info.as_ref())
            }
            PromptRunError::Interrupted { .. } => codes::INTERRUPTED,
            PromptRunError::Timeout { .. } => codes::TIMEOUT,
            PromptRunError::CompletedWithoutAssistantText | PromptRunError::EmptyAssistantText => {
                codes::EMPTY_ANSWER
            }
            PromptRunError::AttachmentNotFound { .. } => codes::ATTACHMENT_NOT_FOUND,
            PromptRunError::BackendUnavailable(_) => codes::BACKEND_UNAVAILABLE,
            PromptRunError::DocumentChanged { .. } => codes::DOCUMENT_CHANGED,
            PromptRunError::EscalationNotApproved => codes::CONFIGURATION,
            PromptRunError::InvalidAnswer(_) => codes::INVALID_ANSWER,
        }
    }

    /// The run status this failure ends with.
    pub fn status(&self) -> &'static str {
        match self {
            PromptRunError::Interrupted { .. } => "interrupted",
            PromptRunError::Timeout { .. } => "timeout",
            _ => "failed",
        }
    }

    /// Whether the failure tells something about the code the run was on.
    /// None does: the backend, the network, sign-in, rate limits, the
    /// deadline, an empty or malformed answer, a rejected request, the
    /// configuration, a missing attachment, a document that moved on and
    /// codex-ls itself are all about the run, never about the code. It is
    /// spelled out per variant so that a new failure has to decide.
    pub fn is_about_the_code(&self) -> bool {
        match self {
            PromptRunError::Rpc(_)
            | PromptRunError::Runtime(_)
            | PromptRunError::TurnFailed(_)
            | PromptRunError::Interrupted { .. }
            | PromptRunError::Timeout { .. }
            | PromptRunError::CompletedWithoutAssistantText
            | PromptRunError::EmptyAssistantText
            | PromptRunError::AttachmentNotFound { .. }
            | PromptRunError::BackendUnavailable(_)
            | PromptRunError::DocumentChanged { .. }
            | PromptRunError::EscalationNotApproved
            | PromptRunError::InvalidAnswer(_) => false,
        }
    }

    /// Whether the user asked for this outcome (a cancel): such runs get no
    /// diagnostic.
    pub fn is_user_cancel(&self) -> bool {
        matches!(self, PromptRunError::Interrupted { requested: true })
    }
}

/// The HTTP status codex reports in `codexErrorInfo`, if any.
fn http_status(info: &Value) -> Option<u64> {
    info.as_object()?
        .values()
        .find_map(|inner| inner.get("httpStatusCode").and_then(Value::as_u64))
}

/// Maps codex's `codexErrorInfo` (and, for `other`, its message) to our code.
pub fn classify_turn_failure(message: &str, info: Option<&Value>) -> &'static str {
    if let Some(status) = info.and_then(http_status) {
        return match status {
            401 | 403 => codes::UNAUTHORIZED,
            429 => codes::RATE_LIMITED,
            500..=599 => codes::SERVER_ERROR,
            _ => codes::TURN_FAILED,
        };
    }
    let kind = info.and_then(|info| match info {
        Value::String(kind) => Some(kind.as_str()),
        Value::Object(map) => map.keys().next().map(String::as_str),
        _ => None,
    });
    match kind {
        Some("unauthorized") => codes::UNAUTHORIZED,
        Some("rateLimitExceeded" | "usageLimitExceeded" | "sessionBudgetExceeded") => {
            codes::RATE_LIMITED
        }
        Some(
            "internalServerError"
            | "serverOverloaded"
            | "flexUnavailable"
            | "policyCapacityUnavailable",
        ) => codes::SERVER_ERROR,
        Some(
            "responseStreamDisconnected"
            | "responseStreamConnectionFailed"
            | "httpConnectionFailed",
        ) => codes::NETWORK,
        _ if looks_like_network(message) => codes::NETWORK,
        _ => codes::TURN_FAILED,
    }
}

fn looks_like_network(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "stream disconnected",
        "idle timeout",
        "error sending request",
        "connection",
        "network",
        "dns",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// What to tell the user for a failed turn: codex's message plus what to do.
fn turn_failed_message(message: &str, info: Option<&Value>) -> String {
    let advice = match classify_turn_failure(message, info) {
        codes::UNAUTHORIZED => "sign in with `codex login` or check your API key",
        codes::RATE_LIMITED => "you hit a rate or usage limit; wait a moment and try again",
        codes::SERVER_ERROR => "the model service failed; try again in a moment",
        codes::NETWORK => {
            "the connection to the model service broke; check your network and try again"
        }
        _ => "see the codex-ls log for details and try again",
    };
    format!("Codex failed: {message} ({advice})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recorded_failures_map_to_their_codes() {
        let cases = [
            (
                json!("internalServerError"),
                "We're currently experiencing high demand",
                codes::SERVER_ERROR,
            ),
            (
                json!({"httpConnectionFailed": {"httpStatusCode": 401}}),
                "unexpected status 401",
                codes::UNAUTHORIZED,
            ),
            (
                json!({"responseTooManyFailedAttempts": {"httpStatusCode": 429}}),
                "exceeded retry limit",
                codes::RATE_LIMITED,
            ),
            (
                json!({"responseTooManyFailedAttempts": {"httpStatusCode": 503}}),
                "exceeded retry limit",
                codes::SERVER_ERROR,
            ),
            (
                json!("other"),
                "stream disconnected before completion: error decoding response body",
                codes::NETWORK,
            ),
            (
                json!("other"),
                "idle timeout waiting for SSE",
                codes::NETWORK,
            ),
            (json!("other"), "the model refused", codes::TURN_FAILED),
            (json!("usageLimitExceeded"), "limit", codes::RATE_LIMITED),
            (
                json!({"responseStreamDisconnected": {"httpStatusCode": null}}),
                "gone",
                codes::NETWORK,
            ),
        ];
        for (info, message, code) in cases {
            assert_eq!(
                classify_turn_failure(message, Some(&info)),
                code,
                "{info} {message}"
            );
        }
        assert_eq!(classify_turn_failure("boom", None), codes::TURN_FAILED);
    }

    #[test]
    fn errors_carry_codes_statuses_and_advice() {
        let missing = PromptRunError::BackendUnavailable(BackendError::NotFound {
            path: "codex".into(),
        });
        assert_eq!(missing.code(), codes::BACKEND_UNAVAILABLE);
        assert!(missing.to_string().contains("@openai/codex"));
        assert!(missing.to_string().contains("codexPath"));
        assert_eq!(PromptRunError::Timeout { secs: 3 }.status(), "timeout");
        assert!(PromptRunError::Interrupted { requested: true }.is_user_cancel());
        assert!(!PromptRunError::Interrupted { requested: false }.is_user_cancel());
        let crashed: PromptRunError = RpcError::Closed {
            method: "turn/start".into(),
        }
        .into();
        assert_eq!(crashed.code(), codes::BACKEND_UNAVAILABLE);
        let failed = PromptRunError::TurnFailed(Box::new(TurnFailure {
            message: "unexpected status 401 Unauthorized".into(),
            codex_error_info: Some(json!({"httpConnectionFailed": {"httpStatusCode": 401}})),
            additional_details: None,
            thread_id: "th".into(),
            turn_id: "tu".into(),
        }));
        assert!(failed.to_string().contains("codex login"));
    }
}
