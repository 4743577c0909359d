//! The client for `codex app-server`: process spawn and supervision, the
//! newline-delimited JSON-RPC connection, typed requests and the stream of a
//! turn. Knows nothing of LSP.

pub mod connection;
pub mod error;
pub mod lines;
pub mod process;
pub mod process_table;
pub mod protocol;
pub mod reaper;
pub mod serde_message;
pub mod steps;
pub mod supervisor;
pub mod threads;
pub mod turn;
pub mod version;

pub use connection::Connection;
pub use error::{BackendError, RpcError};
pub use supervisor::{
    AppServer, BackendState, BackendStatus, Launched, Launcher, ProcessLauncher, Supervisor,
};
pub use turn::{TurnEvent, TurnStream};
