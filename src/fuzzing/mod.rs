//! Fuzz harnesses, shared by the coverage-guided targets in `fuzz/`
//! (cargo-fuzz with libFuzzer) and the bounded property tests in
//! `tests/fuzz_properties.rs` (proptest), so both run the very same code on
//! an input. Not part of the server.
//!
//! Each harness takes the raw bytes of one input and returns `Ok(())` or the
//! [`Finding`] that makes the input a bug:
//! - [`document_store::run`]: random edit sequences applied to the
//!   [`DocumentStore`](crate::document::DocumentStore) and to a naive
//!   `String` model, in every position encoding; any difference is a
//!   divergence.
//! - [`lsp_messages::run`]: framed JSON-RPC messages and raw bytes into the
//!   whole language server, as an editor would send them; the server must
//!   not panic, must answer with well-formed messages, and every run must
//!   end.
//! - [`app_server_lines::run`]: the lines a fake `codex app-server` writes,
//!   answering a prompt run's requests; the client must not panic, the run
//!   must end, and a successful run's streamed deltas must add up to its
//!   answer.
//!
//!
//! Beside the harnesses, [`fake_app_server`] is the one scriptable fake
//! `codex app-server` of the tests, the benches and the fuzz targets.
//!
//! The two async harnesses need a current-thread tokio runtime with a paused
//! clock (`start_paused(true)`, tokio's `test-util` feature): timers then
//! fire as soon as nothing else can run, so a harness can wait for the
//! server to go idle, and timeouts of 30 s cost nothing.

pub mod app_server_lines;
pub mod document_store;
pub mod fake_app_server;
mod input;
pub mod lsp_messages;

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Why an input is a bug.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The code under test and its model disagree, or an invariant broke.
    #[error("divergence: {0}")]
    Divergence(String),
    /// Something panicked, possibly on a spawned task that tokio would
    /// otherwise have swallowed.
    #[error("{0} panic(s) while the input ran (the panic message is printed above)")]
    Panic(usize),
    /// Something never finished although nothing was left to wait for.
    #[error("hang: {0}")]
    Hang(String),
    /// The server wrote something that is not a well-formed message.
    #[error("malformed output: {0}")]
    Malformed(String),
    /// The harness was run the wrong way.
    #[error("harness misuse: {0}")]
    Misuse(String),
}

static PANICS: AtomicUsize = AtomicUsize::new(0);
static PANIC_HOOK: Once = Once::new();

/// Counts the panics of every thread from its start, so a panic inside a
/// task that tokio catches still fails the input. The previous panic hook
/// still runs (libFuzzer's aborts the process, the default one prints).
pub struct PanicWatch {
    before: usize,
}

impl PanicWatch {
    pub fn start() -> PanicWatch {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                PANICS.fetch_add(1, Ordering::SeqCst);
                previous(info);
            }));
        });
        PanicWatch {
            before: PANICS.load(Ordering::SeqCst),
        }
    }

    /// A finding if anything panicked since [`PanicWatch::start`]. Panics of
    /// other threads of the process count too: in a fuzz or property-test
    /// process, every panic is a bug.
    pub fn check(&self) -> Result<(), Finding> {
        match PANICS.load(Ordering::SeqCst) - self.before {
            0 => Ok(()),
            n => Err(Finding::Panic(n)),
        }
    }
}

/// Fails unless the current runtime's clock is paused: with a running
/// clock, the harnesses' idle waits would take minutes of real time.
async fn ensure_paused_clock() -> Result<(), Finding> {
    let probe = Duration::from_secs(10);
    let started = std::time::Instant::now();
    tokio::time::sleep(probe).await;
    if started.elapsed() < probe / 2 {
        Ok(())
    } else {
        Err(Finding::Misuse(
            "run the harness on a current-thread runtime built with start_paused(true)".into(),
        ))
    }
}
