//! Test support: an LSP client that claims every message, a fake
//! app-server replaying recorded transcripts, and a mock Responses API.

pub mod binary;
pub mod editing;
pub mod editor;
pub mod fake_app_server;
pub mod harness;
pub mod lsp_client;
pub mod mock_model;
pub mod processes;
pub mod readme;
pub mod tools;
