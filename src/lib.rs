//! codex-ls: a language server that brings the Codex coding agent into any
//! editor. See README.md for the protocol.

pub mod answers;
pub mod ask;
pub mod codex;
pub mod config;
pub mod document;
// Fuzz harnesses and test-only hooks: only with the `fuzzing` feature
// (cargo-fuzz and the test suite), never in the shipped binary.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod handlers;
pub mod lsp;
pub mod prompt;
pub mod runs;
pub mod server;
pub mod session;

use std::sync::Arc;

use tower_lsp_server::{ClientSocket, LspService};

use crate::codex::{Launcher, Supervisor};
use crate::lsp::panic_guard::PanicGuard;
pub use crate::server::Server;
use crate::session::Session;

/// Builds the service with the given app-server launcher (the real process
/// launcher in `main`, a fake in tests). Also returns the session's
/// [`SessionShutdown`], so the caller can end the session however the
/// transport ends: `exit`, stdin closed, a signal, a closed stdout.
///
/// The service is wrapped in a [`PanicGuard`]: a handler that panics
/// answers its request with an internal error instead of ending the session.
pub fn build_service(
    launcher: Arc<dyn Launcher>,
) -> (
    PanicGuard<LspService<Server>>,
    ClientSocket,
    SessionShutdown,
) {
    let builder = LspService::build(|client| Server::new(client, launcher)).custom_method(
        "window/workDoneProgress/cancel",
        Server::work_done_progress_cancel,
    );
    // Test-only: a request whose handler panics (see lsp::panic_guard).
    #[cfg(feature = "fuzzing")]
    let builder = builder.custom_method(
        crate::lsp::panic_guard::PANIC_METHOD,
        crate::lsp::panic_guard::panic_for_tests,
    );
    let (service, socket) = builder.finish();
    let shutdown = SessionShutdown {
        session: service.inner().session().clone(),
    };
    (PanicGuard::new(service), socket, shutdown)
}

/// Ends a session from outside the LSP: what every exit path of the process
/// goes through.
#[derive(Clone)]
pub struct SessionShutdown {
    session: Arc<Session>,
}

impl SessionShutdown {
    /// Cancels every run in flight; returns how many.
    pub fn cancel_runs(&self) -> usize {
        self.session.runs.cancel_all().len()
    }

    /// Cancels every run and takes the app-server and its whole process
    /// tree down.
    pub async fn shutdown(&self) {
        self.cancel_runs();
        self.session.supervisor.shutdown().await;
    }

    pub fn supervisor(&self) -> &Arc<Supervisor> {
        &self.session.supervisor
    }
}
