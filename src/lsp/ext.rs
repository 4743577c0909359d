//! codex-ls's custom protocol: the commands (their names, and their
//! arguments parsed once into a [`Command`]) and answers, the `$/progress`
//! payloads, and the `data` our code actions and diagnostics carry for the
//! editor to send back. Documented in README.md; the editor plugins mirror
//! these names. `to_proto` builds the outbound values from these types.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::ls_types::{
    CodeActionKind, Diagnostic, ProgressToken, Range, Uri, notification::Notification,
};

/// Declares [`CommandName`] from one table of variants and wire names, so
/// the enum, its list and its parser cannot disagree.
macro_rules! command_names {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal;)*) => {
        /// The name of one of codex-ls's commands (`workspace/executeCommand`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CommandName {
            $($(#[doc = $doc])* $variant,)*
        }

        impl CommandName {
            /// Every command, in the order `executeCommandProvider.commands`
            /// advertises them.
            pub const ALL: &'static [CommandName] = &[$(CommandName::$variant),*];

            /// The name on the wire.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(CommandName::$variant => $name,)*
                }
            }

            /// The command of that exact name, if codex-ls has one.
            pub fn from_name(name: &str) -> Option<CommandName> {
                match name {
                    $($name => Some(CommandName::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

command_names! {
    /// Answers a prompt about the document and selection.
    Run = "codex.run";
    /// Explains the selection or the file.
    Explain = "codex.explain";
    /// Replaces the selection (an edit run).
    Rewrite = "codex.rewrite";
    /// Fixes the diagnostics given (an edit run).
    Fix = "codex.fix";
    /// Writes tests, as an answer or into the file.
    Tests = "codex.tests";
    /// Publishes findings as diagnostics (a review run).
    Review = "codex.review";
    /// Forgets a document's review findings.
    ClearReview = "codex.clearReview";
    /// Runs a user-defined action from the configuration.
    Action = "codex.action";
    /// Forgets a conversation, so the next run starts a new one.
    NewThread = "codex.newThread";
    /// Stops runs.
    Cancel = "codex.cancel";
    /// Reports the backend, the runs and the conversations.
    Status = "codex.status";
    /// Shows how to sign in to Codex (the action of an `unauthorized`
    /// failure).
    SignInHelp = "codex.signInHelp";
    /// Points at the `codexPath` setting (the action of a
    /// `backend-unavailable` failure). Editor plugins map it to their own
    /// settings page.
    OpenSettings = "codex.openSettings";
    // Edit proposals (issue 14, 2).
    /// Applies an edit run's proposal, or some of its hunks.
    ApplyProposal = "codex.applyProposal";
    /// Drops an edit run's proposal.
    DiscardProposal = "codex.discardProposal";

    // Conversations (issue 14, requirement 1).
    /// The conversation of a document, a workspace or a thread, read from
    /// Codex.
    Conversation = "codex.conversation";
    /// The earlier conversations of a workspace folder.
    Conversations = "codex.conversations";
    /// Binds a document or workspace to an earlier thread.
    OpenConversation = "codex.openConversation";
    /// Adds input to a running run's turn.
    Steer = "codex.steer";
    /// A new thread with a thread's history (through a turn).
    Fork = "codex.fork";
    /// Drops a thread's last exchange from its history.
    UndoLast = "codex.undoLast";
}

impl CommandName {
    /// Whether the command starts a run (and so answers [`RunStarted`] and
    /// can be retried from a failure diagnostic).
    pub const fn starts_run(self) -> bool {
        match self {
            CommandName::Run
            | CommandName::Explain
            | CommandName::Rewrite
            | CommandName::Fix
            | CommandName::Tests
            | CommandName::Review
            | CommandName::Action => true,
            CommandName::ClearReview
            | CommandName::NewThread
            | CommandName::Cancel
            | CommandName::Status
            | CommandName::SignInHelp
            | CommandName::OpenSettings
            | CommandName::ApplyProposal
            | CommandName::DiscardProposal => false,
            // Conversations (issue 14, requirement 1).
            CommandName::Conversation
            | CommandName::Conversations
            | CommandName::OpenConversation
            | CommandName::Steer
            | CommandName::Fork
            | CommandName::UndoLast => false,
        }
    }
}

impl std::fmt::Display for CommandName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// The names the code actions offer, taken from the enum.
pub const RUN: &str = CommandName::Run.as_str();
pub const EXPLAIN: &str = CommandName::Explain.as_str();
pub const REWRITE: &str = CommandName::Rewrite.as_str();
pub const FIX: &str = CommandName::Fix.as_str();
pub const TESTS: &str = CommandName::Tests.as_str();
pub const REVIEW: &str = CommandName::Review.as_str();
pub const CLEAR_REVIEW: &str = CommandName::ClearReview.as_str();
pub const ACTION: &str = CommandName::Action.as_str();
pub const NEW_THREAD: &str = CommandName::NewThread.as_str();
pub const CANCEL: &str = CommandName::Cancel.as_str();
pub const STATUS: &str = CommandName::Status.as_str();
pub const SIGN_IN_HELP: &str = CommandName::SignInHelp.as_str();
pub const OPEN_SETTINGS: &str = CommandName::OpenSettings.as_str();
pub const APPLY_PROPOSAL: &str = CommandName::ApplyProposal.as_str();
pub const DISCARD_PROPOSAL: &str = CommandName::DiscardProposal.as_str();

/// Every command name, as `executeCommandProvider.commands` advertises
/// them: built from [`CommandName::ALL`] at compile time, so the list
/// cannot drift from what the handler accepts.
pub const COMMANDS: [&str; CommandName::ALL.len()] = {
    let mut names = [""; CommandName::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = CommandName::ALL[i].as_str();
        i += 1;
    }
    names
};

const RUN_COMMAND_COUNT: usize = {
    let mut count = 0;
    let mut i = 0;
    while i < CommandName::ALL.len() {
        if CommandName::ALL[i].starts_run() {
            count += 1;
        }
        i += 1;
    }
    count
};

/// The names of the commands that start a run, in [`CommandName::ALL`]
/// order.
pub const RUN_COMMANDS: [&str; RUN_COMMAND_COUNT] = {
    let mut names = [""; RUN_COMMAND_COUNT];
    let mut next = 0;
    let mut i = 0;
    while i < CommandName::ALL.len() {
        if CommandName::ALL[i].starts_run() {
            names[next] = CommandName::ALL[i].as_str();
            next += 1;
        }
        i += 1;
    }
    names
};

/// A command with its argument, parsed once from `workspace/executeCommand`
/// by [`Command::parse`], so the handler's `match` is exhaustive.
#[derive(Debug, Clone)]
pub enum Command {
    Run(RunArgs),
    Explain(ExplainArgs),
    Rewrite(RewriteArgs),
    Fix(FixArgs),
    Tests(TestsArgs),
    Review(ReviewArgs),
    Action(ActionArgs),
    ClearReview(ClearReviewArgs),
    NewThread(NewThreadArgs),
    Cancel(CancelArgs),
    Status,
    SignInHelp,
    OpenSettings,
    // Edit proposals.
    ApplyProposal(ApplyProposalArgs),
    DiscardProposal(DiscardProposalArgs),
    // Conversations (issue 14, requirement 1).
    Conversation(ConversationArgs),
    Conversations(ConversationsArgs),
    OpenConversation(OpenConversationArgs),
    Steer(SteerArgs),
    Fork(ForkArgs),
    UndoLast(UndoLastArgs),
}

/// Why a `workspace/executeCommand` could not be parsed into a [`Command`].
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("unknown command `{name}`; codex-ls knows {}", COMMANDS.join(", "))]
    Unknown { name: String },
    #[error("expected one argument object, got {0}")]
    ArgumentCount(usize),
    #[error("invalid argument: {0}")]
    InvalidArgument(serde_json::Error),
}

impl Command {
    /// Parses the command's name and its arguments. The commands without an
    /// argument ignore whatever arguments come, as editors send `[]` or
    /// `[{}]` alike.
    pub fn parse(name: &str, arguments: &[Value]) -> Result<Command, CommandError> {
        let name = CommandName::from_name(name).ok_or_else(|| CommandError::Unknown {
            name: name.to_string(),
        })?;
        Ok(match name {
            CommandName::Run => Command::Run(argument(arguments)?),
            CommandName::Explain => Command::Explain(argument(arguments)?),
            CommandName::Rewrite => Command::Rewrite(argument(arguments)?),
            CommandName::Fix => Command::Fix(argument(arguments)?),
            CommandName::Tests => Command::Tests(argument(arguments)?),
            CommandName::Review => Command::Review(argument(arguments)?),
            CommandName::Action => Command::Action(argument(arguments)?),
            CommandName::ClearReview => Command::ClearReview(argument(arguments)?),
            CommandName::NewThread => Command::NewThread(argument(arguments)?),
            CommandName::Cancel => Command::Cancel(argument(arguments)?),
            CommandName::Status => Command::Status,
            CommandName::SignInHelp => Command::SignInHelp,
            CommandName::OpenSettings => Command::OpenSettings,
            CommandName::ApplyProposal => Command::ApplyProposal(argument(arguments)?),
            CommandName::DiscardProposal => Command::DiscardProposal(argument(arguments)?),
            // Conversations (issue 14, requirement 1).
            CommandName::Conversation => Command::Conversation(argument(arguments)?),
            CommandName::Conversations => Command::Conversations(optional_argument(arguments)?),
            CommandName::OpenConversation => Command::OpenConversation(argument(arguments)?),
            CommandName::Steer => Command::Steer(argument(arguments)?),
            CommandName::Fork => Command::Fork(argument(arguments)?),
            CommandName::UndoLast => Command::UndoLast(argument(arguments)?),
        })
    }

    pub fn name(&self) -> CommandName {
        match self {
            Command::Run(_) => CommandName::Run,
            Command::Explain(_) => CommandName::Explain,
            Command::Rewrite(_) => CommandName::Rewrite,
            Command::Fix(_) => CommandName::Fix,
            Command::Tests(_) => CommandName::Tests,
            Command::Review(_) => CommandName::Review,
            Command::Action(_) => CommandName::Action,
            Command::ClearReview(_) => CommandName::ClearReview,
            Command::NewThread(_) => CommandName::NewThread,
            Command::Cancel(_) => CommandName::Cancel,
            Command::Status => CommandName::Status,
            Command::SignInHelp => CommandName::SignInHelp,
            Command::OpenSettings => CommandName::OpenSettings,
            Command::ApplyProposal(_) => CommandName::ApplyProposal,
            Command::DiscardProposal(_) => CommandName::DiscardProposal,
            // Conversations (issue 14, requirement 1).
            Command::Conversation(_) => CommandName::Conversation,
            Command::Conversations(_) => CommandName::Conversations,
            Command::OpenConversation(_) => CommandName::OpenConversation,
            Command::Steer(_) => CommandName::Steer,
            Command::Fork(_) => CommandName::Fork,
            Command::UndoLast(_) => CommandName::UndoLast,
        }
    }
}

/// The command's single argument object, read in place (not cloned).
fn argument<T: DeserializeOwned>(arguments: &[Value]) -> Result<T, CommandError> {
    let [value] = arguments else {
        return Err(CommandError::ArgumentCount(arguments.len()));
    };
    T::deserialize(value).map_err(CommandError::InvalidArgument)
}

/// The command's argument object, or its defaults when none was sent
/// (editors send `[]` or `[{}]` alike for a command without arguments).
fn optional_argument<T: DeserializeOwned + Default>(
    arguments: &[Value],
) -> Result<T, CommandError> {
    match arguments {
        [] => Ok(T::default()),
        _ => argument(arguments),
    }
}

/// Which conversation a run continues: the document's own, or one shared
/// by the workspace folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    #[default]
    Document,
    Workspace,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextDocumentRef {
    pub uri: Uri,
    /// When given, the run fails with `document-changed` if the server's
    /// version differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
}

impl TextDocumentRef {
    /// The document, at whatever version the server has when the command
    /// comes: what a code action names.
    pub fn any_version(uri: Uri) -> TextDocumentRef {
        TextDocumentRef { uri, version: None }
    }
}

/// Whether a field holds its default, so that the arguments a code action
/// puts in its command carry only what the action chose.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Argument of `codex.run`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunArgs {
    pub text_document: TextDocumentRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    pub prompt: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_thread: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
    /// A follow-up: continue this thread (the conversation is bound to it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
    /// Wait behind a run going on the conversation instead of being
    /// refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue: bool,
}

/// Argument of `codex.explain`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExplainArgs {
    pub text_document: TextDocumentRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_thread: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
    /// Wait behind a run going on the conversation instead of being
    /// refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue: bool,
}

/// The presets of `codex.rewrite`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RewritePreset {
    Improve,
    Simplify,
    Document,
}

/// Argument of `codex.rewrite`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RewriteArgs {
    pub text_document: TextDocumentRef,
    pub range: Range,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<RewritePreset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    /// Overrides `editPreview`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
    /// Wait behind a run going on the conversation instead of being
    /// refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue: bool,
}

/// Argument of `codex.fix`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FixArgs {
    pub text_document: TextDocumentRef,
    pub range: Range,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
    /// Wait behind a run going on the conversation instead of being
    /// refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue: bool,
}

/// `mode` of `codex.tests` and of user actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TestsMode {
    #[default]
    Answer,
    Edit,
}

/// Argument of `codex.tests`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestsArgs {
    pub text_document: TextDocumentRef,
    pub range: Range,
    #[serde(default, skip_serializing_if = "is_default")]
    pub mode: TestsMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
    /// Wait behind a run going on the conversation instead of being
    /// refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue: bool,
}

/// Argument of `codex.review`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewArgs {
    pub text_document: TextDocumentRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
    /// Wait behind a run going on the conversation instead of being
    /// refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue: bool,
}

/// Argument of `codex.action`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionArgs {
    pub text_document: TextDocumentRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
    /// Wait behind a run going on the conversation instead of being
    /// refused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queue: bool,
}

// The arguments code actions put in their commands: what the action
// chose, everything else left to its default (and off the wire).

impl ExplainArgs {
    pub fn new(text_document: TextDocumentRef, range: Option<Range>) -> ExplainArgs {
        ExplainArgs {
            text_document,
            range,
            new_thread: false,
            progress_token: None,
            scope: Scope::default(),
            queue: false,
        }
    }
}

impl RewriteArgs {
    pub fn new(
        text_document: TextDocumentRef,
        range: Range,
        preset: Option<RewritePreset>,
    ) -> RewriteArgs {
        RewriteArgs {
            text_document,
            range,
            preset,
            instruction: None,
            preview: None,
            progress_token: None,
            scope: Scope::default(),
            queue: false,
        }
    }
}

impl FixArgs {
    pub fn new(
        text_document: TextDocumentRef,
        range: Range,
        diagnostics: Vec<Diagnostic>,
    ) -> FixArgs {
        FixArgs {
            text_document,
            range,
            diagnostics,
            preview: None,
            progress_token: None,
            scope: Scope::default(),
            queue: false,
        }
    }
}

impl TestsArgs {
    pub fn new(text_document: TextDocumentRef, range: Range, mode: TestsMode) -> TestsArgs {
        TestsArgs {
            text_document,
            range,
            mode,
            preview: None,
            progress_token: None,
            scope: Scope::default(),
            queue: false,
        }
    }
}

impl ReviewArgs {
    pub fn new(text_document: TextDocumentRef, range: Option<Range>) -> ReviewArgs {
        ReviewArgs {
            text_document,
            range,
            progress_token: None,
            scope: Scope::default(),
            queue: false,
        }
    }
}

impl ActionArgs {
    pub fn new(text_document: TextDocumentRef, range: Option<Range>, title: String) -> ActionArgs {
        ActionArgs {
            text_document,
            range,
            title,
            instruction: None,
            diagnostics: Vec::new(),
            preview: None,
            progress_token: None,
            scope: Scope::default(),
            queue: false,
        }
    }
}

/// Argument of `codex.clearReview`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClearReviewArgs {
    pub text_document: TextDocumentRef,
}

/// Argument of `codex.newThread`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewThreadArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_document: Option<TextDocumentRef>,
    #[serde(default, skip_serializing_if = "is_default")]
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
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<ProgressToken>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodexProgressParams {
    pub token: ProgressToken,
    pub value: ProgressValue,
}

/// The `value` of our `$/progress`: a standard work-done progress object
/// (`kind` says which) with our `codex` object beside its standard fields.
/// Built only by `to_proto::progress_begin`/`progress_report`/`progress_end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ProgressValue {
    Begin(ProgressBegin),
    Report(ProgressReport),
    /// Boxed: the end carries the run's whole result, several times the
    /// size of a report, and reports are the many.
    End(Box<ProgressEnd>),
}

/// A run's `begin`: the run's title, its scope or status as `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressBegin {
    pub title: String,
    /// Always true: every run can be cancelled.
    pub cancellable: bool,
    pub message: String,
    pub codex: BeginExt,
}

/// One coalesced `report`: the current step as `message`, the batch of
/// deltas in `codex`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressReport {
    pub message: String,
    pub codex: ReportExt,
}

/// The run's `end`: its last words to the user, the outcome in `codex`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressEnd {
    pub message: String,
    pub codex: EndExt,
}

/// `codex` object of a `begin` report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BeginExt {
    pub run_id: u64,
    /// What the run delivers, so a client that did not start it (a code
    /// action on a server-created token) knows how to show it.
    pub kind: RunKind,
}

/// What a run delivers: an answer in text, an edit, or review findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunKind {
    Answer,
    Edit,
    Review,
}

/// `codex` object of a `report`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportExt {
    pub run_id: u64,
    pub thread_id: Option<String>,
    pub turn_id: Option<String>,
    pub delta: String,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reset: bool,
    /// The steps changed since the previous report, each once, in the
    /// order they first changed; absent when none did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
}

/// What a step is (`type` of an [`Item`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemType {
    Reasoning,
    Plan,
    Command,
    FileChange,
    WebSearch,
    ToolCall,
    Retry,
    Notice,
}

/// Where a step is (`status` of an [`Item`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

/// One step of the agent's work. In a `report`, an update: the fields as
/// they are now, with `text` and `outputDelta` to append to what came
/// before. In the `end`, the step's final state: `text` whole and the tail
/// of a command's output in `output`. A field is present only where it
/// applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ItemType,
    pub status: ItemStatus,
    /// The step in one line of human text.
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// Reports: the command's output since the previous report (its tail
    /// when more than 16 KiB came).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_delta: Option<String>,
    /// Reports: bytes of output dropped before `outputDelta`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub output_skipped: u64,
    /// `end`: the last 64 KiB of the command's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<FileChange>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Vec<PlanStep>>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// One file of a change: a unified diff for `update`, the content for
/// `add` and `delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    pub path: String,
    pub kind: FileChangeKind,
    pub diff: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FileChangeKind {
    Add,
    Delete,
    Update,
}

/// One step of the agent's plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanStep {
    pub step: String,
    pub status: PlanStepStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PlanStepStatus {
    Pending,
    InProgress,
    Completed,
}

/// Tokens of a run's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub total_tokens: u64,
}

/// `codex` object of the `end` report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Every step of the run in its final state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Item>,
    /// Tokens the run's turn used, when Codex reported them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// `status` of an [`EditReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EditStatus {
    Applied,
    /// A preview run's edit, kept for `codex.applyProposal` or
    /// `codex.discardProposal`: nothing was applied.
    Proposed,
    /// By the client or the user.
    Rejected,
    /// The document changed under the selection, or was closed.
    NotApplied,
}

/// What became of an edit run's replacement. It is always here, so nothing
/// is lost when it could not be applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditReport {
    pub status: EditStatus,
    pub replacement: String,
    pub explanation: String,
    /// Where it went (or was meant to go), in the document as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    /// A proposal: the document version `range` and the hunks' ranges
    /// are in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    /// A proposal: its line hunks, for applying some of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hunks: Option<Vec<ProposalHunk>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One change of an edit proposal: a run of changed lines of the selection
/// (`range`, in the document at the proposal's version; empty for a pure
/// insertion) and what replaces them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalHunk {
    pub index: usize,
    pub range: Range,
    pub old_text: String,
    pub new_text: String,
}

/// Argument of `codex.applyProposal`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplyProposalArgs {
    pub run_id: u64,
    /// Only these hunks (by `index`); all of them when missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hunks: Option<Vec<usize>>,
}

/// Argument of `codex.discardProposal`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiscardProposalArgs {
    pub run_id: u64,
}

/// Answer of `codex.applyProposal`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalApplied {
    /// Whether the editor applied the edit. When it did not, the proposal
    /// is kept and `reason` says why.
    pub applied: bool,
    /// The hunks applied (or that were to be).
    pub hunks: Vec<usize>,
    /// Where the edit went, in the document as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Answer of `codex.discardProposal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalDiscarded {
    /// Whether there was a proposal to drop.
    pub discarded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    #[serde(default)]
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

impl RunCommand {
    /// Moves a retry onto `range`, where the editor has the failure's
    /// diagnostic now (it follows edits there), if the run was on a
    /// selection. A run on the whole file (no range, or an empty one) has
    /// its diagnostic on the first line, which must not become the retry's
    /// selection.
    pub fn follow_diagnostic(&mut self, range: Range) {
        let selected = self
            .argument
            .get("range")
            .and_then(|range| Range::deserialize(range).ok())
            .is_some_and(|range| range.start != range.end);
        if selected
            && let Some(fields) = self.argument.as_object_mut()
            && let Ok(range) = serde_json::to_value(range)
        {
            fields.insert("range".to_string(), range);
        }
    }
}

/// A code action before it goes out (see `to_proto::code_action`): what it
/// is called, where editors list it, and the command it runs.
#[derive(Debug, Clone)]
pub struct ActionOffer {
    pub title: String,
    pub kind: CodeActionKind,
    pub call: RunCommand,
    /// The diagnostics the action fixes.
    pub diagnostics: Option<Vec<Diagnostic>>,
    pub is_preferred: Option<bool>,
}

/// `data` of our code actions, for `codeAction/resolve`: the suggestion an
/// "Apply suggestion" puts in, or the command any other action runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CodeActionData {
    Suggestion { suggestion: SuggestionData },
    Command(RunCommand),
}

/// What "Codex: Apply suggestion" applies: the finding's suggestion for its
/// lines, the text the review saw there, and where it was when offered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestionData {
    pub uri: Uri,
    /// The finding's number (its diagnostic's `data.finding`).
    pub finding: u64,
    pub suggestion: String,
    pub reviewed: String,
    pub range: Range,
}

/// `data` of a review finding (`source: "codex-review"`) that has a
/// suggestion: what its quick fix needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingData {
    /// Numbers the finding, so its quick fix finds it again even where
    /// another finding has the same suggestion for the same text.
    pub finding: u64,
    pub suggestion: String,
    /// The finding's lines (0-based, inclusive), kept as it moves. Read
    /// leniently: the quick fix does not need them.
    #[serde(default)]
    pub first_line: u32,
    #[serde(default)]
    pub last_line: u32,
    /// The text of those lines when reviewed.
    pub reviewed: String,
}

/// `data` of a failure diagnostic (`source: "codex"`): what its code
/// actions need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureData {
    /// The failed run's command, for "Codex: Retry".
    pub retry: RunCommand,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A valid argument for each command: the match is exhaustive, so a new
    /// command cannot go untested.
    fn valid_argument(name: CommandName) -> Value {
        let document = json!({"uri": "file:///w/a.rs", "version": 3});
        let range =
            json!({"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}});
        match name {
            CommandName::Run => json!({"textDocument": document, "prompt": "why?"}),
            CommandName::Explain | CommandName::Review => json!({"textDocument": document}),
            CommandName::Rewrite => {
                json!({"textDocument": document, "range": range, "preset": "simplify"})
            }
            CommandName::Fix => json!({"textDocument": document, "range": range}),
            CommandName::Tests => json!({"textDocument": document, "range": range, "mode": "edit"}),
            CommandName::Action => json!({"textDocument": document, "title": "Translate"}),
            CommandName::ClearReview => json!({"textDocument": document}),
            CommandName::NewThread | CommandName::Status => json!({}),
            CommandName::Cancel => json!({"runId": 7}),
            CommandName::SignInHelp | CommandName::OpenSettings => json!({}),
            CommandName::ApplyProposal => json!({"runId": 7, "hunks": [0, 2]}),
            CommandName::DiscardProposal => json!({"runId": 7}),
            // Conversations (issue 14, requirement 1).
            CommandName::Conversation => json!({"textDocument": document}),
            CommandName::Conversations => json!({"folder": "/w"}),
            CommandName::OpenConversation => json!({"threadId": "t", "scope": "workspace"}),
            CommandName::Steer => json!({"runId": 7, "prompt": "shorter"}),
            CommandName::Fork => json!({"threadId": "t", "turnId": "u"}),
            CommandName::UndoLast => json!({"threadId": "t"}),
        }
    }

    #[test]
    fn every_command_name_round_trips() {
        for &name in CommandName::ALL {
            assert_eq!(CommandName::from_name(name.as_str()), Some(name));
            assert_eq!(name.to_string(), name.as_str());
            assert!(name.as_str().starts_with("codex."), "{name}");
            let command = Command::parse(name.as_str(), &[valid_argument(name)])
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            assert_eq!(command.name(), name);
        }
    }

    #[test]
    fn the_advertised_list_is_the_enum() {
        let names: Vec<&str> = CommandName::ALL.iter().map(|name| name.as_str()).collect();
        assert_eq!(COMMANDS.to_vec(), names);
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "a name is used twice");
        // Every advertised name is one the parser knows.
        for name in COMMANDS {
            assert!(CommandName::from_name(name).is_some(), "{name}");
        }
        assert_eq!(
            COMMANDS,
            [
                "codex.run",
                "codex.explain",
                "codex.rewrite",
                "codex.fix",
                "codex.tests",
                "codex.review",
                "codex.clearReview",
                "codex.action",
                "codex.newThread",
                "codex.cancel",
                "codex.status",
                "codex.signInHelp",
                "codex.openSettings",
                "codex.applyProposal",
                "codex.discardProposal",
                "codex.conversation",
                "codex.conversations",
                "codex.openConversation",
                "codex.steer",
                "codex.fork",
                "codex.undoLast",
            ]
        );
    }

    #[test]
    fn run_commands_are_those_that_start_a_run() {
        let starting: Vec<&str> = CommandName::ALL
            .iter()
            .filter(|name| name.starts_run())
            .map(|name| name.as_str())
            .collect();
        assert_eq!(RUN_COMMANDS.to_vec(), starting);
        assert_eq!(
            RUN_COMMANDS,
            [RUN, EXPLAIN, REWRITE, FIX, TESTS, REVIEW, ACTION]
        );
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_known_names() {
        for name in [
            "codex.nope",
            "Codex.Run",
            "codex.run ",
            "",
            "codex.\u{fffd}status",
        ] {
            let err = Command::parse(name, &[json!({})]).map(|_| ()).unwrap_err();
            assert!(matches!(&err, CommandError::Unknown { name: got } if got == name));
            assert_eq!(
                err.to_string(),
                format!(
                    "unknown command `{name}`; codex-ls knows {}",
                    COMMANDS.join(", ")
                )
            );
        }
    }

    #[test]
    fn a_command_with_an_argument_needs_exactly_one() {
        for &name in CommandName::ALL {
            let takes_argument = !matches!(
                name,
                CommandName::Status | CommandName::SignInHelp | CommandName::OpenSettings
            );
            for count in [0, 2] {
                let arguments = vec![valid_argument(name); count];
                let parsed = Command::parse(name.as_str(), &arguments);
                if name == CommandName::Conversations && count == 0 {
                    // Its argument is optional: none lists the first folder's.
                    assert!(parsed.is_ok(), "{name}");
                    continue;
                }
                if takes_argument {
                    let err = parsed.map(|_| ()).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        format!("expected one argument object, got {count}"),
                        "{name}"
                    );
                } else {
                    // Editors send `[]` or `[{}]` to these alike.
                    assert_eq!(parsed.map(|command| command.name()).ok(), Some(name));
                }
            }
        }
    }

    #[test]
    fn a_wrongly_shaped_argument_is_invalid() {
        let cases = [
            (
                RUN,
                json!({"textDocument": {"uri": "file:///w/a.rs"}}),
                "invalid argument: missing field `prompt`",
            ),
            (
                RUN,
                json!({"textDocument": {"uri": "file:///w/a.rs"}, "prompt": "p", "colour": 1}),
                "invalid argument: unknown field `colour`",
            ),
            (
                REWRITE,
                json!({"textDocument": {"uri": "file:///w/a.rs"}}),
                "invalid argument: missing field `range`",
            ),
            (
                REWRITE,
                json!({"textDocument": {"uri": "file:///w/a.rs"}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "preset": "shout"}),
                "invalid argument: unknown variant `shout`",
            ),
            (
                CANCEL,
                json!({"runId": "seven"}),
                "invalid argument: invalid type: string \"seven\", expected u64",
            ),
            (
                CLEAR_REVIEW,
                json!("file:///w/a.rs"),
                "invalid argument: invalid type: string \"file:///w/a.rs\"",
            ),
            (
                NEW_THREAD,
                json!({"scope": "galaxy"}),
                "invalid argument: unknown variant `galaxy`",
            ),
        ];
        for (name, argument, expected) in cases {
            let err = Command::parse(name, &[argument]).map(|_| ()).unwrap_err();
            assert!(matches!(err, CommandError::InvalidArgument(_)), "{name}");
            let message = err.to_string();
            assert!(message.starts_with(expected), "{name}: {message}");
        }
    }
}

/// `codex/requestApproval`: an approval put to a client that declared
/// `capabilities.experimental.codex.approvals: true`, typed so that the
/// editor shows what it approves (a command, the diffs of a change) without
/// parsing prose. An error answer or `null` declines.
pub enum RequestApproval {}

impl tower_lsp_server::ls_types::request::Request for RequestApproval {
    type Params = ApprovalRequestParams;
    type Result = Option<ApprovalResponse>;
    const METHOD: &'static str = "codex/requestApproval";
}

/// What the agent asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalKind {
    Command,
    FileChange,
    Permissions,
}

/// A decision the user can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalDecision {
    Accept,
    AcceptForSession,
    Decline,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalRequestParams {
    pub run_id: u64,
    pub kind: ApprovalKind,
    /// The question in one line.
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<FileChange>>,
    /// What more permissions are asked, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<String>,
    /// The decisions offered, in display order; always includes `decline`.
    pub decisions: Vec<ApprovalDecision>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalResponse {
    pub decision: ApprovalDecision,
}

// Conversations (issue 14, requirement 1): the arguments and answers of
// `codex.conversation`, `codex.conversations`, `codex.openConversation`,
// `codex.steer`, `codex.fork` and `codex.undoLast`.

/// Argument of `codex.conversation`: the thread given, else the one bound
/// to the document (or its workspace, with `scope`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_document: Option<TextDocumentRef>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<String>,
}

/// Argument of `codex.conversations`: the folder whose conversations to
/// list (a path or a `file:` URI), else the first workspace folder.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConversationsArgs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folder: Option<String>,
}

/// Argument of `codex.openConversation`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenConversationArgs {
    pub thread_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_document: Option<TextDocumentRef>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub scope: Scope,
}

/// Argument of `codex.steer`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SteerArgs {
    pub run_id: u64,
    pub prompt: String,
}

/// Argument of `codex.fork`: the fork keeps the turns through `turnId`
/// (all of them without it).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForkArgs {
    pub thread_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_id: Option<String>,
}

/// Argument of `codex.undoLast`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UndoLastArgs {
    pub thread_id: String,
}

/// The `data` of the error refusing a run (or a conversation command) on
/// a busy conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusyData {
    pub busy: bool,
    /// The runs going on the document, when it is a document's
    /// conversation.
    pub run_ids: Vec<u64>,
}

/// Answer of `codex.conversation` (`null` when the document has no
/// conversation yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationView {
    pub thread_id: String,
    pub title: String,
    pub turns: Vec<ConversationTurn>,
}

/// One exchange of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationTurn {
    pub turn_id: String,
    /// What the user asked, without the editor context codex-ls added.
    pub prompt: String,
    pub title: String,
    /// `completed`, `interrupted`, `failed` or `inProgress`.
    pub status: String,
    pub answer: Option<String>,
    /// The agent's steps, as `end.codex.items`.
    pub items: Vec<Item>,
    /// Unix seconds.
    pub started_at: Option<i64>,
}

/// Answer of `codex.conversations`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationList {
    pub conversations: Vec<ConversationEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationEntry {
    pub thread_id: String,
    pub title: String,
    /// Unix seconds.
    pub updated_at: Option<i64>,
    pub turns: usize,
}

/// Answer of `codex.openConversation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationOpened {
    pub thread_id: String,
}

/// Answer of `codex.steer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Steered {
    pub run_id: u64,
    pub turn_id: String,
}

/// Answer of `codex.fork`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Forked {
    pub thread_id: String,
    pub forked_from_id: String,
}

/// Answer of `codex.undoLast`: the turn dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Undone {
    pub thread_id: String,
    pub turn_id: String,
}
