//! The client for `codex app-server`: process spawn and supervision, the
//! newline-delimited JSON-RPC connection, typed requests and the stream of a
//! turn. Knows nothing of LSP.

pub mod connection;
pub mod error;
pub mod process;
pub mod protocol;
pub mod serde_message;
pub mod supervisor;
pub mod turn;

pub use connection::Connection;
pub use error::{BackendError, RpcError};
pub use supervisor::{
    AppServer, BackendState, BackendStatus, Launched, Launcher, ProcessLauncher, Supervisor,
};
pub use turn::{TurnEvent, TurnStream};

/// The Codex CLI version codex-ls is tested against; others get a warning.
pub const TESTED_CODEX_VERSION: &str = "0.169.";
