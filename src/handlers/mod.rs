//! Thin handlers: validate, take a snapshot, call the domain, convert the
//! answer. One file per area.

pub mod approvals;
pub mod code_action;
pub mod configuration;
pub mod conversations;
pub mod diagnostics;
pub mod edit;
pub mod execute_command;
pub mod file_changes;
pub mod lifecycle;
pub mod progress;
pub mod proposal;
pub mod review;
pub mod run;
pub mod text_document;
