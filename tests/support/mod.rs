//! Test support: an LSP client that claims every message, launchers of the
//! crate's fake app-server (`codex_ls::fuzzing::fake_app_server`), and a
//! mock Responses API.

pub mod binary;
pub mod editing;
pub mod editor;
pub mod harness;
pub mod lsp_client;
pub mod mock_model;
pub mod processes;
pub mod readme;
pub mod tools;
