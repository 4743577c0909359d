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
pub const REWRITE: &str = "codex.rewrite";
pub const FIX: &str = "codex.fix";
pub const TESTS: &str = "codex.tests";
pub const REVIEW: &str = "codex.review";
pub const CLEAR_REVIEW: &str = "codex.clearReview";
pub const ACTION: &str = "codex.action";
pub const NEW_THREAD: &str = "codex.newThread";
/// The commands that start a run.
pub const RUN_COMMANDS: [&str; 7] = [RUN, EXPLAIN, REWRITE, FIX, TESTS, REVIEW, ACTION];
/// Shows how to sign in to Codex (the action of an `unauthorized` failure).
pub const SIGN_IN_HELP: &str = "codex.signInHelp";
/// Points at the `codexPath` setting (the action of a `backend-unavailable`
/// failure). Editor plugins map it to their own settings page.
pub const OPEN_SETTINGS: &str = "codex.openSettings";
pub const COMMANDS: [&str; 13] = [
    RUN,
    EXPLAIN,
    REWRITE,
    FIX,
    TESTS,
    REVIEW,
    CLEAR_REVIEW,
    ACTION,
    NEW_THREAD,
    CANCEL,
    STATUS,
    SIGN_IN_HELP,
    OPEN_SETTINGS,
];

/// Which conversation a run continues: the document's own, or one shared
/// by the workspace folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    #[default]
    Document,
    Workspace,
}

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
    #[serde(default)]
    pub scope: Scope,
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
    #[serde(default)]
    pub scope: Scope,
}

/// The presets of `codex.rewrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RewritePreset {
    Improve,
    Simplify,
    Document,
}

/// Argument of `codex.rewrite`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RewriteArgs {
    pub text_document: TextDocumentRef,
    pub range: Range,
    #[serde(default)]
    pub preset: Option<RewritePreset>,
    #[serde(default)]
    pub instruction: Option<String>,
    /// Overrides `editPreview`.
    #[serde(default)]
    pub preview: Option<bool>,
    #[serde(default)]
    pub progress_token: Option<ProgressToken>,
    #[serde(default)]
    pub scope: Scope,
}

/// Argument of `codex.fix`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixArgs {
    pub text_document: TextDocumentRef,
    pub range: Range,
    #[serde(default)]
    pub diagnostics: Vec<tower_lsp_server::ls_types::Diagnostic>,
    #[serde(default)]
    pub preview: Option<bool>,
    #[serde(default)]
    pub progress_token: Option<ProgressToken>,
    #[serde(default)]
    pub scope: Scope,
}

/// `mode` of `codex.tests` and of user actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TestsMode {
    #[default]
    Answer,
    Edit,
}

/// Argument of `codex.tests`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestsArgs {
    pub text_document: TextDocumentRef,
    pub range: Range,
    #[serde(default)]
    pub mode: TestsMode,
    #[serde(default)]
    pub preview: Option<bool>,
    #[serde(default)]
    pub progress_token: Option<ProgressToken>,
    #[serde(default)]
    pub scope: Scope,
}

/// Argument of `codex.review`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewArgs {
    pub text_document: TextDocumentRef,
    #[serde(default)]
    pub range: Option<Range>,
    #[serde(default)]
    pub progress_token: Option<ProgressToken>,
    #[serde(default)]
    pub scope: Scope,
}

/// Argument of `codex.action`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionArgs {
    pub text_document: TextDocumentRef,
    #[serde(default)]
    pub range: Option<Range>,
    pub title: String,
    #[serde(default)]
    pub instruction: Option<String>,
    #[serde(default)]
    pub diagnostics: Vec<tower_lsp_server::ls_types::Diagnostic>,
    #[serde(default)]
    pub preview: Option<bool>,
    #[serde(default)]
    pub progress_token: Option<ProgressToken>,
    #[serde(default)]
    pub scope: Scope,
}

/// Argument of `codex.clearReview`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClearReviewArgs {
    pub text_document: TextDocumentRef,
}

/// Argument of `codex.newThread`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewThreadArgs {
    #[serde(default)]
    pub text_document: Option<TextDocumentRef>,
    #[serde(default)]
    pub scope: Scope,
}

/// Answer of `codex.newThread`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadReset {
    /// Whether a conversation was there to forget.
    pub thread_reset: bool,
}

/// Answer of `codex.clearReview`.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewCleared {
    pub cleared: usize,
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
    pub threads: Vec<ThreadStatus>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThreadStatus {
    pub thread_id: String,
    pub scope: Scope,
    /// The document, for document conversations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The workspace folder, for workspace conversations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
    pub turns: u32,
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
    /// Edit runs: what became of the replacement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit: Option<EditReport>,
    /// Review runs: how many findings were published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<usize>,
}

/// `status` of an [`EditReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EditStatus {
    Applied,
    /// By the client or the user.
    Rejected,
    /// The document changed under the selection, or was closed.
    NotApplied,
}

/// What became of an edit run's replacement. It is always here, so nothing
/// is lost when it could not be applied.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EditReport {
    pub status: EditStatus,
    pub replacement: String,
    pub explanation: String,
    /// Where it went (or was meant to go), in the document as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorExt {
    pub code: String,
    pub message: String,
}

/// A run command as the client sent it, kept so that the run can be started
/// again ("Codex: Retry"): without its progress token (the retry streams on
/// a token of its own) and without `textDocument.version` (the document has
/// moved on by then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCommand {
    pub command: String,
    pub argument: Value,
}

impl RunCommand {
    pub fn for_retry(command: &str, argument: &Value) -> RunCommand {
        let mut argument = argument.clone();
        if let Some(fields) = argument.as_object_mut() {
            fields.remove("progressToken");
            if let Some(document) = fields
                .get_mut("textDocument")
                .and_then(Value::as_object_mut)
            {
                document.remove("version");
            }
        }
        RunCommand {
            command: command.to_string(),
            argument,
        }
    }
}

/// `data` of a failure diagnostic (`source: "codex"`): what its code
/// actions need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureData {
    /// The failed run's command, for "Codex: Retry".
    pub retry: RunCommand,
}
