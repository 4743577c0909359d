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

/// Builds the service with the given app-server launcher (the real process
/// launcher in `main`, a fake in tests). Also returns the supervisor, so the
/// caller can take the app-server down when the transport ends without a
/// `shutdown` (exit, or stdin closed).
pub fn build_service(
    launcher: Arc<dyn Launcher>,
) -> (LspService<Server>, ClientSocket, Arc<Supervisor>) {
    let (service, socket) = LspService::build(|client| Server::new(client, launcher))
        .custom_method(
            "window/workDoneProgress/cancel",
            Server::work_done_progress_cancel,
        )
        .finish();
    let supervisor = service.inner().session().supervisor.clone();
    (service, socket, supervisor)
}
