//! The two limits every wait of a run obeys: the user's cancel and the
//! run's deadline. The deadline counts from the moment the command arrived
//! (`timeoutSecs` bounds the whole run: start-up of the app-server, thread
//! and turn requests, the turn, and delivering the result), so no phase can
//! outlast a cancel or the timeout, whatever the app-server or the client
//! does.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::PromptRunError;

/// A run's cancel token and deadline.
#[derive(Debug, Clone)]
pub struct RunLimits {
    cancel: CancellationToken,
    deadline: Instant,
    timeout: Duration,
}

impl RunLimits {
    /// Limits for a run that began at `began` and may last `timeout`.
    pub fn new(cancel: CancellationToken, began: Instant, timeout: Duration) -> RunLimits {
        RunLimits {
            cancel,
            deadline: began + timeout,
            timeout,
        }
    }

    pub fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Resolves when the run must stop, with the reason as the run's error.
    /// A cancel wins over a deadline that passed at the same time.
    pub async fn stopped(&self) -> PromptRunError {
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => PromptRunError::Interrupted { requested: true },
            () = tokio::time::sleep_until(self.deadline) => PromptRunError::Timeout {
                secs: self.timeout.as_secs(),
            },
        }
    }

    /// Waits for `work` unless the run must stop first; then `work` is
    /// dropped and the reason returned.
    pub async fn bound<F: Future>(&self, work: F) -> Result<F::Output, PromptRunError> {
        tokio::select! {
            biased;
            stop = self.stopped() => Err(stop),
            output = work => Ok(output),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_cancel_or_the_deadline_stops_the_wait() {
        let cancel = CancellationToken::new();
        let limits = RunLimits::new(cancel.clone(), Instant::now(), Duration::from_secs(5));
        assert_eq!(limits.bound(async { 7 }).await, Ok(7));

        let timed_out = limits.bound(std::future::pending::<()>()).await;
        assert_eq!(timed_out, Err(PromptRunError::Timeout { secs: 5 }));

        let limits = RunLimits::new(cancel.clone(), Instant::now(), Duration::from_secs(5));
        cancel.cancel();
        let cancelled = limits.bound(std::future::pending::<()>()).await;
        assert_eq!(
            cancelled,
            Err(PromptRunError::Interrupted { requested: true })
        );
    }
}
