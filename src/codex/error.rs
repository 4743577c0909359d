//! Errors of the app-server client.

use std::time::Duration;

use thiserror::Error;

/// A duration as people read it in a message or a log: milliseconds below
/// a second ("700 ms", not "0 s"), else seconds.
pub fn readable(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else if duration.subsec_millis() == 0 {
        format!("{} s", duration.as_secs())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// A JSON-RPC level failure of one request to the app-server.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum RpcError {
    /// The app-server answered with a JSON-RPC error.
    #[error("codex app-server rejected `{method}`: {message} (code {code})")]
    Rejected {
        method: String,
        code: i64,
        message: String,
    },
    /// The connection closed before the answer came: the app-server exited.
    #[error("codex app-server exited before answering `{method}`")]
    Closed { method: String },
    /// The answer did not have the shape the protocol promises.
    #[error("codex app-server sent an unexpected answer to `{method}`: {detail}")]
    Malformed { method: String, detail: String },
    /// No answer within the time allowed.
    #[error("codex app-server did not answer `{method}` within {}", readable(*.after))]
    TimedOut { method: String, after: Duration },
}

/// Why no usable app-server could be had.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum BackendError {
    /// The binary is not there.
    #[error(
        "Codex CLI not found ({path}): install it with `npm install -g @openai/codex` or set `codexPath` to the codex binary"
    )]
    NotFound { path: String },
    /// The binary is there but could not be started.
    #[error(
        "could not start `{path} app-server`: {reason}; check `codexPath` and that the binary runs"
    )]
    SpawnFailed { path: String, reason: String },
    /// It started but the handshake failed.
    #[error(
        "codex app-server did not complete its handshake: {reason}; run `codex app-server` by hand to see why"
    )]
    Handshake { reason: String },
    /// It exited while work was in flight.
    #[error("codex app-server exited unexpectedly; it will be restarted on the next run")]
    Crashed,
    /// The server is shutting down.
    #[error("codex-ls is shutting down")]
    ShuttingDown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_below_a_second_read_in_milliseconds() {
        assert_eq!(readable(Duration::from_millis(700)), "700 ms");
        assert_eq!(readable(Duration::from_secs(30)), "30 s");
        assert_eq!(readable(Duration::from_millis(1500)), "1.5 s");
        let timed_out = RpcError::TimedOut {
            method: "turn/interrupt".into(),
            after: Duration::from_millis(700),
        };
        assert_eq!(
            timed_out.to_string(),
            "codex app-server did not answer `turn/interrupt` within 700 ms"
        );
    }
}
