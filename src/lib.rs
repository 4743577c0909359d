//! codex-ls: a language server that brings the Codex coding agent into any
//! editor. See README.md for the protocol.

pub mod answers;
pub mod ask;
pub mod codex;
pub mod config;
pub mod document;
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
pub use crate::server::Server;
use crate::session::Session;

/// Builds the service with the given app-server launcher (the real process
/// launcher in `main`, a fake in tests). Also returns the session's
/// [`SessionShutdown`], so the caller can end the session however the
/// transport ends: `exit`, stdin closed, a signal, a closed stdout.
pub fn build_service(
    launcher: Arc<dyn Launcher>,
) -> (LspService<Server>, ClientSocket, SessionShutdown) {
    let (service, socket) = LspService::build(|client| Server::new(client, launcher))
        .custom_method(
            "window/workDoneProgress/cancel",
            Server::work_done_progress_cancel,
        )
        .finish();
    let shutdown = SessionShutdown {
        session: service.inner().session().clone(),
    };
    (service, socket, shutdown)
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
