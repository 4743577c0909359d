//! The prompt-run model: what a run asks of Codex (params, attachments),
//! what it gives back (result, error taxonomy), how the buffer and selection
//! become `@path` attachments (snapshot files for unsaved text), and how a
//! run drives one turn and streams its answer. Knows nothing of LSP.

pub mod actions;
pub mod anchor;
pub mod approval;
pub mod context;
pub mod conversation;
pub mod error;
pub mod file_change;
pub mod history;
pub mod hunks;
pub mod input;
pub mod limits;
pub mod params;
pub mod presets;
pub mod run;
pub mod snapshot;
pub mod steps;
pub mod stream;
pub mod structured;
pub mod threads;

pub use context::{RunContext, Selection, build_run};
pub use conversation::{
    Conversation, ConversationBusy, ConversationKey, Conversations, Reservation,
};
pub use error::PromptRunError;
pub use limits::RunLimits;
pub use params::{PromptAttachment, PromptRunParams, PromptRunResult};
pub use run::{RunEvent, ThreadBinding, execute};
pub use snapshot::SnapshotDir;
