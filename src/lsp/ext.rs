//! codex-ls's custom protocol: command names, their arguments and answers,
//! and the `$/progress` payloads. Documented in README.md; the editor
//! plugins mirror these names.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::ls_types::{ProgressToken, Range, Uri, notification::Notification};

pub const RUN: &str = "codex.run";
pub const EXPLAIN: &str = "codex.explain";
pub const CANCEL: &str = "codex.cancel";
pub const STATUS: &str = "codex.status";
pub const COMMANDS: [&str; 4] = [RUN, EXPLAIN, CANCEL, STATUS];

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextDocumentRef {
    pub uri: Uri,
    /// When given, the run fails with `document-changed` if the server's
    /// version differs.
    #[serde(default)]
    pub version: Option<i32>,
}

/// Argument of `codex.run`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunArgs {
    pub text_document: TextDocumentRef,
    #[serde(default)]
    pub range: Option<Range>,
    pub prompt: String,
    #[serde(default)]
    pub new_thread: bool,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub effort: Option<String>,
    #[serde(default)]
    pub progress_token: Option<ProgressToken>,
}

/// Argument of `codex.explain`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExplainArgs {
    pub text_document: TextDocumentRef,
    #[serde(default)]
    pub range: Option<Range>,
    #[serde(default)]
    pub new_thread: bool,
    #[serde(default)]
    pub progress_token: Option<ProgressToken>,
}

/// Argument of `codex.cancel`: exactly one of the fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelArgs {
    #[serde(default)]
    pub run_id: Option<u64>,
    #[serde(default)]
    pub token: Option<ProgressToken>,
    #[serde(default)]
    pub text_document: Option<TextDocumentRef>,
}

/// Answer of `codex.run` and `codex.explain`, sent at once.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStarted {
    pub run_id: u64,
    pub token: ProgressToken,
}

/// Answer of `codex.cancel`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancelled {
    pub cancelled: Vec<u64>,
}

/// Answer of `codex.status`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub server_version: String,
    pub backend: BackendStatus,
    pub active_runs: Vec<ActiveRun>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendStatus {
    /// `notStarted`, `starting`, `ready`, `exited` or `unavailable`.
    pub state: String,
    pub codex_version: Option<String>,
    pub codex_path: String,
    pub pid: Option<u32>,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveRun {
    pub run_id: u64,
    pub title: String,
    pub uri: String,
}

/// `$/progress` with our payloads (the standard work-done progress objects
/// plus a `codex` extension object).
pub enum CodexProgress {}

impl Notification for CodexProgress {
    type Params = CodexProgressParams;
    const METHOD: &'static str = "$/progress";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodexProgressParams {
    pub token: ProgressToken,
    pub value: Value,
}

/// `codex` object of a `begin` report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BeginExt {
    pub run_id: u64,
}

/// `codex` object of a `report`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportExt {
    pub run_id: u64,
    pub thread_id: Option<String>,
    pub turn_id: Option<String>,
    pub delta: String,
    pub seq: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
}

/// `codex` object of the `end` report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndExt {
    pub run_id: u64,
    /// `completed`, `failed`, `interrupted` or `timeout`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assistant_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorExt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorExt {
    pub code: String,
    pub message: String,
}
