//! A run from the editor: checked in the handler, then planned and driven
//! on its own task: progress token, `begin`, coalesced `report`s, `end`
//! (sent through `progress`), failure diagnostics, and by kind: for answers to clients that passed no
//! token, a markdown file shown with `window/showDocument` (or named in
//! `window/showMessage` when it cannot be shown); for edits, the
//! replacement applied through the editor; for reviews, findings published
//! as diagnostics. Every message a user reads is human text: the current
//! step while Codex works, the edit's explanation or the review's findings
//! at the end, never the structured JSON those runs stream.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{self as lsp, MessageType, ProgressToken, Uri};

use crate::config::Config;
use crate::document::{self, DocumentSnapshot, PositionEncoding};
use crate::lsp::ext;
use crate::lsp::{from_proto, to_proto};
use crate::prompt::approval::ApprovalSettings;
use crate::prompt::context::{PlannedRun, RunContext, Selection, build_run};
use crate::prompt::conversation::{Conversation, RESUME_NOTE, Reservation};
use crate::prompt::steps::StepSummary;
use crate::prompt::stream::{StreamedForm, WORKING};
use crate::prompt::structured::{self, Finding, parse_edit, parse_review};
use crate::prompt::{PromptRunError, PromptRunResult, RunEvent, RunLimits, execute};
use crate::runs::RunEntry;
use crate::session::Session;

use super::approvals::{AskWith, ClientApprover, DeclinedUnasked};
use super::diagnostics;
use super::edit::{self, EditTarget};
use super::progress::{CLIENT_REQUEST_TIMEOUT, create_token, report_loop, send_progress};
use super::review::{self, ReviewTarget};

/// The longest a run waits for the first configuration pull.
const CONFIG_WAIT: Duration = Duration::from_secs(6);

/// What a run produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// An answer, streamed.
    Answer,
    /// A replacement for the selection (or, with `insert`, text added at
    /// the end of the document), applied through the editor.
    Edit { insert: bool },
    /// Findings published as diagnostics.
    Review,
}

/// A run as the command asked for it.
pub struct RunRequest {
    pub title: String,
    pub document: ext::TextDocumentRef,
    pub range: Option<lsp::Range>,
    pub prompt: String,
    pub new_thread: bool,
    pub model: Option<String>,
    pub effort: Option<String>,
    pub progress_token: Option<ProgressToken>,
    pub kind: RunKind,
    pub scope: ext::Scope,
    /// Edits: propose instead of applying; `None` follows `editPreview`.
    pub preview: Option<bool>,
    /// The command as the client sent it, offered as "Codex: Retry" on a
    /// failure.
    pub retry: Option<ext::RunCommand>,
    /// A follow-up on this thread: the conversation continues it.
    pub thread_id: Option<String>,
    /// Wait behind a run going on the conversation; without it such a run
    /// is refused at once.
    pub queue: bool,
}

impl RunRequest {
    /// A request for the document and range with the defaults: an answer,
    /// on the document's conversation.
    pub fn answer(
        title: &str,
        document: ext::TextDocumentRef,
        range: Option<lsp::Range>,
        prompt: String,
    ) -> RunRequest {
        RunRequest {
            title: title.to_string(),
            document,
            range,
            prompt,
            new_thread: false,
            model: None,
            effort: None,
            progress_token: None,
            kind: RunKind::Answer,
            scope: ext::Scope::Document,
            preview: None,
            retry: None,
            thread_id: None,
            queue: false,
        }
    }
}

/// Where a run's result goes besides the progress stream.
enum Target {
    Answer,
    Edit(EditTarget),
    Review(ReviewTarget),
}

/// Everything the run's task needs.
struct ActiveRun {
    id: u64,
    token: ProgressToken,
    client_token: bool,
    uri: Uri,
    title: String,
    diagnostic_range: lsp::Range,
    location: String,
    new_thread: bool,
    conversation: Conversation,
    target: Target,
    cancel: CancellationToken,
    /// When the command arrived: `timeoutSecs` counts from here.
    received: Instant,
    /// What "Codex: Retry" on a failure runs again.
    retry: Option<ext::RunCommand>,
    /// The prompt as the user (or the action) gave it, for the answer file.
    prompt: String,
    /// Approvals declined because the client cannot ask: the user is told
    /// at the end of the run.
    declined: DeclinedUnasked,
    /// The conversation's turn, taken when the command came (`None` for a
    /// run that queues: it waits for the turn in its task).
    reservation: Option<Reservation>,
    /// A follow-up's thread.
    thread_id: Option<String>,
}

/// What planning a run needs: the document as it was when the command came.
/// Planning reads the file on disk and writes snapshots, so it happens on a
/// blocking thread of the run's task, never in the handler.
struct PlanInput {
    uri: Uri,
    expected_version: Option<i32>,
    snapshot: DocumentSnapshot,
    selection: Option<Selection>,
    prompt: String,
    model: Option<String>,
    effort: Option<String>,
    output_schema: Option<Value>,
    /// Whether the run kind's turn is read-only whatever the configured
    /// sandbox (see [`read_only_turn`]).
    read_only_turn: bool,
    workspace_folders: Vec<PathBuf>,
}

/// Checks the run, registers it and starts its task. Answers at once; the
/// run never holds a handler slot.
pub fn start(session: &Arc<Session>, request: RunRequest) -> Result<ext::RunStarted> {
    let received = Instant::now();
    let uri = request.document.uri.clone();
    let snapshot = session.documents.snapshot(uri.as_str()).ok_or_else(|| {
        Error::invalid_params(format!(
            "{} is not open; open it first (didOpen)",
            uri.as_str()
        ))
    })?;
    let encoding = session.encoding();
    let selection = match request.range {
        Some(range) if range.start != range.end => Some(selection(&snapshot, range, encoding)?),
        _ => None,
    };
    if matches!(request.kind, RunKind::Edit { .. }) && selection.is_none() {
        return Err(Error::invalid_params(format!(
            "{} needs a non-empty `range`: the code to work on",
            request.title
        )));
    }
    let id = session.runs.next_id();
    let (token, client_token) = match request.progress_token.clone() {
        Some(token) => (token, true),
        None => (ProgressToken::String(format!("codex-ls/run/{id}")), false),
    };
    let token_key = from_proto::token_key(&token);
    if session.runs.has_token(&token_key) {
        return Err(Error::invalid_params(
            "a run already streams on this progressToken; use a new token per run",
        ));
    }
    let target = target(session, &request, &snapshot, selection.as_ref(), encoding)?;
    let diagnostic_range = match (request.range, &selection) {
        (Some(range), Some(_)) => range,
        _ => first_line_range(&snapshot, encoding),
    };
    let workspace_folders = session.workspace_folders();
    let conversation = Conversation::new(
        from_proto::scope(request.scope),
        uri.as_str(),
        from_proto::file_path(&uri).as_deref(),
        &workspace_folders,
    );
    // The busy rule: a conversation takes one turn at a time, and a second
    // run is refused now rather than waiting unseen behind the first.
    let reservation = if request.queue {
        None
    } else {
        Some(
            session
                .conversations
                .try_reserve(&conversation.key)
                .map_err(|_| busy_error(session, &conversation))?,
        )
    };
    let location = begin_message(
        session,
        &conversation,
        selection.as_ref(),
        request.new_thread,
    );
    let user_prompt = request.prompt.clone();
    let (prompt, output_schema) = match request.kind {
        RunKind::Answer => (request.prompt, None),
        RunKind::Edit { .. } => (
            format!(
                "{}\n\n{}",
                request.prompt,
                crate::prompt::presets::EDIT_CONTRACT
            ),
            Some(structured::edit_schema()),
        ),
        RunKind::Review => (request.prompt, Some(structured::review_schema())),
    };
    let plan = PlanInput {
        uri: uri.clone(),
        expected_version: request.document.version,
        snapshot,
        selection,
        prompt,
        model: request.model,
        effort: request.effort,
        output_schema,
        read_only_turn: read_only_turn(request.kind),
        workspace_folders,
    };
    let cancel = CancellationToken::new();
    session.runs.insert(RunEntry {
        id,
        token_key,
        document: uri.as_str().to_string(),
        title: request.title.clone(),
        cancel: cancel.clone(),
    });
    let session_for_task = session.clone();
    let run = ActiveRun {
        id,
        token: token.clone(),
        client_token,
        uri,
        title: request.title,
        diagnostic_range,
        location,
        new_thread: request.new_thread,
        conversation,
        target,
        cancel,
        received,
        retry: request.retry,
        prompt: user_prompt,
        declined: DeclinedUnasked::default(),
        reservation,
        thread_id: request.thread_id,
    };
    let supervised = SupervisedRun {
        id,
        token: token.clone(),
        client_token,
    };
    #[cfg(feature = "fuzzing")]
    let panics = plan.prompt.starts_with(PANIC_PROMPT);
    let task = tokio::spawn(async move {
        #[cfg(feature = "fuzzing")]
        panic_for_tests(panics);
        drive(session_for_task, run, plan).await;
    });
    tokio::spawn(supervise(session.clone(), supervised, task));
    Ok(ext::RunStarted { run_id: id, token })
}

/// The refusal of a run on a busy conversation: it names the runs going on
/// the document and what the user can do instead.
fn busy_error(session: &Session, conversation: &Conversation) -> Error {
    let runs: Vec<u64> = match &conversation.key {
        crate::prompt::ConversationKey::Document(uri) => session
            .runs
            .list()
            .into_iter()
            .filter(|run| &run.document == uri)
            .map(|run| run.id)
            .collect(),
        crate::prompt::ConversationKey::Workspace(_) => Vec::new(),
    };
    let which = match runs.as_slice() {
        [id] => format!(" (run {id})"),
        _ => String::new(),
    };
    Error {
        code: tower_lsp_server::jsonrpc::ErrorCode::InvalidRequest,
        message: format!(
            "Codex is busy: a run is still going on this conversation{which}. \
             Add to it with codex.steer {{runId, prompt}}, stop it with codex.cancel, \
             or send this run again with queue: true to wait for it."
        )
        .into(),
        data: serde_json::to_value(ext::BusyData {
            busy: true,
            run_ids: runs,
        })
        .ok(),
    }
}

/// Whether a run kind's turn is read-only, whatever the configured sandbox.
/// Edits and reviews only propose text, which the user applies through the
/// editor: an agent that wrote files itself would change the selection
/// under its own edit, so their turns are read-only whatever the thread was
/// started with. Answers keep the configured sandbox.
fn read_only_turn(kind: RunKind) -> bool {
    match kind {
        RunKind::Answer => false,
        RunKind::Edit { .. } | RunKind::Review => true,
    }
}

/// What the supervisor of a run's task needs to end the run for it.
struct SupervisedRun {
    id: u64,
    token: ProgressToken,
    client_token: bool,
}

/// Waits for a run's task; when it panicked, ends the run in its place: the
/// run leaves the registry, and `end` (`failed`, `internal-error`) closes
/// its progress, which would otherwise stay open forever. Its snapshots
/// were removed as the panic unwound (they are removed on drop). A run that
/// had already left the registry had sent its `end`: nothing more is sent.
async fn supervise(session: Arc<Session>, run: SupervisedRun, task: tokio::task::JoinHandle<()>) {
    let Err(err) = task.await else { return };
    // Not a panic: the runtime is shutting down, and the session with it.
    let Ok(panic) = err.try_into_panic() else {
        return;
    };
    tracing::error!(
        "run {} panicked: {}; ending it",
        run.id,
        crate::lsp::panic_guard::panic_message(panic.as_ref())
    );
    let in_flight = !session
        .runs
        .cancel_where(|entry| entry.id == run.id)
        .is_empty();
    session.runs.remove(run.id);
    // A token of ours may not have been created yet; a client ignores an
    // `end` for a token it does not know, and without `end` a known one
    // would spin forever.
    if in_flight && (run.client_token || session.support().work_done_progress) {
        let failed = Err(PromptRunError::Runtime(
            "codex-ls failed internally during the run; see its log".to_string(),
        ));
        let delivered = Delivered::default();
        let message = final_message(&failed, &delivered, &[]);
        let end =
            to_proto::progress_end(&run.token, run.id, &failed, delivery(&delivered), &message);
        send_progress(&session, end).await;
    }
}

/// Test-only: a run whose prompt starts with this panics in its task, so
/// tests can show that the run still ends. Compiled only with the `fuzzing`
/// feature (the test suite's; never the shipped binary's).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub const PANIC_PROMPT: &str = "codex-ls test: panic in the run task";

#[cfg(feature = "fuzzing")]
#[allow(clippy::panic)]
fn panic_for_tests(panics: bool) {
    if panics {
        panic!("{PANIC_PROMPT}");
    }
}

/// Where the result goes, fixed from the document as the command saw it.
fn target(
    session: &Session,
    request: &RunRequest,
    snapshot: &DocumentSnapshot,
    selection: Option<&Selection>,
    encoding: PositionEncoding,
) -> Result<Target> {
    match (request.kind, selection, request.range) {
        (RunKind::Answer, ..) => Ok(Target::Answer),
        (RunKind::Review, selection, _) => Ok(Target::Review(ReviewTarget {
            text: snapshot.text.clone(),
            lines: selection.map_or_else(
                || (0, snapshot.line_count().saturating_sub(1) as u32),
                |selection| (selection.first_line, selection.last_line),
            ),
        })),
        (RunKind::Edit { insert }, Some(selection), Some(range)) => {
            let range = from_proto::range(range);
            let start_char = document::char_index(&snapshot.text, range.start, encoding)
                .map_err(|err| Error::invalid_params(format!("invalid range: {err}")))?;
            Ok(Target::Edit(EditTarget {
                range,
                start_char,
                selected: selection.text.clone(),
                version: snapshot.version,
                insert,
                follower: edit::follow_selection(
                    &session.documents,
                    snapshot,
                    start_char,
                    &selection.text,
                ),
                preview: request.preview,
                label: request.title.clone(),
            }))
        }
        (RunKind::Edit { .. }, ..) => Err(Error::invalid_params(format!(
            "{} needs a non-empty `range`",
            request.title
        ))),
    }
}

/// The `begin` report's message. A generic client (its token made by the
/// server) shows it as the run's status, so it says that Codex is working;
/// the editor plugins (their own token) show it as the run's scope.
fn begin_text(run: &ActiveRun) -> String {
    if run.client_token {
        run.location.clone()
    } else {
        format!("{WORKING} {}", run.location)
    }
}

/// Where the run looks, and whether its conversation
/// has to be resumed after Codex restarted.
fn begin_message(
    session: &Session,
    conversation: &Conversation,
    selection: Option<&Selection>,
    new_thread: bool,
) -> String {
    let mut message = match selection {
        Some(selection) if selection.first_line == selection.last_line => {
            format!("line {}", selection.first_line + 1)
        }
        Some(selection) => format!(
            "lines {}-{}",
            selection.first_line + 1,
            selection.last_line + 1
        ),
        None => "whole file".to_string(),
    };
    if session.conversations.needs_resume(
        &conversation.key,
        new_thread,
        session.supervisor.live_generation(),
    ) {
        message.push_str("; ");
        message.push_str(RESUME_NOTE);
    }
    message
}

fn selection(
    snapshot: &DocumentSnapshot,
    range: lsp::Range,
    encoding: PositionEncoding,
) -> Result<Selection> {
    let range = from_proto::range(range);
    let invalid =
        |err: document::PositionError| Error::invalid_params(format!("invalid range: {err}"));
    let text = snapshot.text_in(range, encoding).map_err(invalid)?;
    let (first_line, last_line) = snapshot.line_span(range, encoding).map_err(invalid)?;
    Ok(Selection {
        text,
        first_line,
        last_line,
    })
}

/// The first line, for failures of runs without a selection.
fn first_line_range(snapshot: &DocumentSnapshot, encoding: PositionEncoding) -> lsp::Range {
    to_proto::range(document::lines_range(&snapshot.text, 0, 0, encoding))
}

fn plan(input: PlanInput, config: &Config) -> std::result::Result<PlannedRun, PromptRunError> {
    let snapshot = &input.snapshot;
    if let Some(expected) = input.expected_version
        && expected != snapshot.version
    {
        return Err(PromptRunError::DocumentChanged {
            expected,
            actual: snapshot.version,
        });
    }
    let context = RunContext {
        file_path: from_proto::file_path(&input.uri),
        fallback_name: input.uri.as_str().to_string(),
        language_id: snapshot.language_id.clone(),
        buffer: snapshot.contents(),
        workspace_folders: input.workspace_folders,
        selection: input.selection,
        inline_selection_limit: config.inline_selection_limit,
    };
    let mut template = config.run_template();
    template.model = input.model.or(template.model);
    template.effort = input.effort.or(template.effort);
    template.output_schema = input.output_schema;
    if input.read_only_turn {
        template.make_turn_read_only();
    }
    build_run(&context, &input.prompt, template)
}

async fn drive(session: Arc<Session>, mut run: ActiveRun, input: PlanInput) {
    let reservation = run.reservation.take();
    // A run sent right after start-up waits for the user's settings (the
    // pull has its own timeout; this bound is only a backstop), unless the
    // user cancels first. The run then keeps that configuration to its end.
    tokio::select! {
        () = session.config_ready(CONFIG_WAIT) => {}
        () = run.cancel.cancelled() => {}
    }
    let config = session.config();
    let limits = RunLimits::new(run.cancel.clone(), run.received, config.timeout());
    let streaming = run.client_token
        || limits
            .bound(create_token(&session, &run.token))
            .await
            .unwrap_or(false);
    if streaming {
        let kind = match run.target {
            Target::Answer => ext::RunKind::Answer,
            Target::Edit(_) => ext::RunKind::Edit,
            Target::Review(_) => ext::RunKind::Review,
        };
        let begin =
            to_proto::progress_begin(&run.token, run.id, kind, &run.title, &begin_text(&run));
        send_progress(&session, begin).await;
    }
    let (events, receiver) = mpsc::unbounded_channel();
    let reporter = tokio::spawn(report_loop(
        session.clone(),
        streaming.then(|| run.token.clone()),
        run.id,
        streamed_form(&run.target),
        config.progress_interval(),
        run.conversation.folder.clone(),
        receiver,
    ));
    let outcome = plan_and_execute(
        &session,
        &run,
        reservation,
        input,
        &config,
        &events,
        &limits,
    )
    .await;
    drop(events);
    let steps = reporter.await.ok();
    notice_untested_version(&session).await;
    let (outcome, mut result) = deliver(&session, &run, &config, outcome, &limits).await;
    result.steps = steps.map(|steps| steps.finish(outcome.is_ok()));
    let declined = run.declined.notes();
    if let (Ok(answer), false, Target::Answer) = (&outcome, run.client_token, &run.target) {
        result.answer_file = show_answer(&session, &run, answer, &declined).await;
    }
    let message = final_message(&outcome, &result, &declined);
    // Out of the registry before `end`: a client that has seen the end can
    // reuse the token, and `codex.status` no longer lists the run.
    session.runs.remove(run.id);
    if streaming {
        let end = to_proto::progress_end(&run.token, run.id, &outcome, delivery(&result), &message);
        send_progress(&session, end).await;
    } else if outcome.is_ok() && !matches!(run.target, Target::Answer) && !rejected(&result) {
        // Without a stream, an edit's explanation or a review's findings
        // would never reach the user (a rejected edit was told already).
        session
            .client
            .show_message(MessageType::INFO, format!("{}: {message}", run.title))
            .await;
    }
    match &outcome {
        Ok(_) => {
            diagnostics::clear_earlier(&session, &run.uri, run.id).await;
            if let Some(changed) = result.changed.take() {
                diagnostics::publish_failure(&session, &run.uri, run.id, changed).await;
            }
        }
        Err(err) if err.is_user_cancel() => {}
        Err(err) if !session.documents.contains(run.uri.as_str()) => {
            // Closing the document cleared its diagnostics; a run that ends
            // after that must not put one back where nothing clears it.
            tracing::info!("run {} failed after its document closed: {err}", run.id);
        }
        Err(err) => {
            tracing::info!("run {} failed: {err}", run.id);
            diagnostics::publish_failure(
                &session,
                &run.uri,
                run.id,
                to_proto::diagnostic(err, run.diagnostic_range, failure_data(&run).as_ref()),
            )
            .await;
        }
    }
}

/// The failure diagnostic's `data`: the command to retry, when the run came
/// from one.
fn failure_data(run: &ActiveRun) -> Option<ext::FailureData> {
    run.retry.clone().map(|retry| ext::FailureData { retry })
}

/// Plans the run on a blocking thread (it reads the file on disk and writes
/// snapshots), then executes it; its snapshots are gone when this returns.
async fn plan_and_execute(
    session: &Session,
    run: &ActiveRun,
    reservation: Option<Reservation>,
    input: PlanInput,
    config: &Config,
    events: &mpsc::UnboundedSender<RunEvent>,
    limits: &RunLimits,
) -> std::result::Result<PromptRunResult, PromptRunError> {
    let plan_config = config.clone();
    // A run stopped while planning leaves the blocking task to finish: the
    // snapshots it made are removed when its unclaimed result is dropped.
    let planned = limits
        .bound(tokio::task::spawn_blocking(move || {
            plan(input, &plan_config)
        }))
        .await?
        .unwrap_or_else(|err| Err(PromptRunError::Runtime(format!("planning failed: {err}"))))?;
    let approvals = ApprovalSettings {
        approver: Some(Arc::new(ClientApprover::new(
            session.client.clone(),
            ask_with(&session.support(), run.id),
            run.declined.clone(),
        ))),
        timeout: config.approval_timeout(),
        allow_privileged_escalation: config.allow_privileged_escalation,
    };
    let outcome = execute_planned(
        session,
        &run.conversation,
        reservation,
        run.thread_id.as_deref(),
        &planned,
        run.new_thread,
        &config.codex_path,
        &approvals,
        events,
        limits,
    )
    .await;
    // Snapshots go before the end report is sent.
    if let Some(snapshots) = planned.snapshots
        && let Err(err) = snapshots.remove()
    {
        tracing::warn!("could not remove a snapshot directory: {err}");
    }
    outcome
}

/// How approvals of run `run_id` are put to this client.
fn ask_with(support: &crate::session::ClientSupport, run_id: u64) -> AskWith {
    if support.typed_approvals {
        AskWith::TypedRequest { run_id }
    } else if support.show_message_request {
        AskWith::MessageRequest
    } else {
        AskWith::Nothing
    }
}

/// What `end` reports of what the run delivered.
fn delivery(delivered: &Delivered) -> to_proto::EndDelivery<'_> {
    to_proto::EndDelivery {
        answer_file: delivered.answer_file.as_deref(),
        edit: delivered.edit.as_ref(),
        findings: delivered.findings,
        steps: delivered.steps.as_ref(),
    }
}

/// What a run delivered besides its answer.
#[derive(Default)]
struct Delivered {
    answer_file: Option<PathBuf>,
    edit: Option<ext::EditReport>,
    findings: Option<usize>,
    /// The run's steps in their final state.
    steps: Option<StepSummary>,
    /// The findings in a line, for the end message.
    review_summary: Option<String>,
    /// A `document-changed` diagnostic for an edit that could not land.
    changed: Option<lsp::Diagnostic>,
}

/// Delivers an edit or review run's structured answer; an answer that is
/// not what was asked for fails the run.
async fn deliver(
    session: &Session,
    run: &ActiveRun,
    config: &Config,
    outcome: std::result::Result<PromptRunResult, PromptRunError>,
    limits: &RunLimits,
) -> (
    std::result::Result<PromptRunResult, PromptRunError>,
    Delivered,
) {
    let Ok(answer) = outcome else {
        return (outcome, Delivered::default());
    };
    match &run.target {
        Target::Answer => (Ok(answer), Delivered::default()),
        Target::Edit(target) => {
            let proposal = match parse_edit(&answer.assistant_text) {
                Ok(proposal) => proposal,
                Err(err) => return (Err(err.into()), Delivered::default()),
            };
            // A run stopped while the editor has the edit ends at once; the
            // editor may still apply what it was sent.
            let applied = match limits
                .bound(edit::apply(
                    session, run.id, &run.uri, target, &proposal, config,
                ))
                .await
            {
                Ok(applied) => applied,
                Err(stop) => return (Err(stop), Delivered::default()),
            };
            if applied.report.status == ext::EditStatus::Rejected {
                let reason = applied.report.reason.clone().unwrap_or_default();
                session
                    .client
                    .show_message(
                        MessageType::WARNING,
                        format!(
                            "{}: the edit was not applied ({reason}). The replacement is kept in the run's result.",
                            run.title
                        ),
                    )
                    .await;
            }
            let delivered = Delivered {
                edit: Some(applied.report),
                changed: applied.changed,
                ..Delivered::default()
            };
            (Ok(answer), delivered)
        }
        Target::Review(target) => match parse_review(&answer.assistant_text) {
            Ok(findings) => {
                let summary = review_summary(&findings, target.lines);
                let published = review::publish(session, &run.uri, target, findings).await;
                let delivered = Delivered {
                    findings: Some(published),
                    review_summary: summary,
                    ..Delivered::default()
                };
                (Ok(answer), delivered)
            }
            Err(err) => (Err(err.into()), Delivered::default()),
        },
    }
}

/// Takes the conversation's turn (one at a time: they share its thread),
/// executes, and leaves the thread it ran on to the next turn.
#[allow(clippy::too_many_arguments)]
async fn execute_planned(
    session: &Session,
    conversation: &Conversation,
    reservation: Option<Reservation>,
    thread_id: Option<&str>,
    planned: &PlannedRun,
    new_thread: bool,
    codex_path: &str,
    approvals: &ApprovalSettings,
    events: &mpsc::UnboundedSender<RunEvent>,
    limits: &RunLimits,
) -> std::result::Result<PromptRunResult, PromptRunError> {
    let mut turn = match reservation {
        Some(reservation) => session.conversations.turn_for(reservation, new_thread),
        None => {
            limits
                .bound(
                    session
                        .conversations
                        .take_turn(&conversation.key, new_thread),
                )
                .await?
        }
    };
    if let Some(thread_id) = thread_id {
        turn.continue_thread(thread_id);
    }
    let (outcome, binding) = execute(
        &session.supervisor,
        codex_path,
        &planned.params,
        turn.previous(),
        approvals,
        events,
        limits,
    )
    .await;
    turn.finish(binding, |uri| session.documents.contains(uri));
    outcome
}

/// The run's last words to the user (the `end` message, and the message of
/// an edit or review without a stream): the outcome in human text, then the
/// approvals declined because the editor could not ask.
fn final_message(
    outcome: &std::result::Result<PromptRunResult, PromptRunError>,
    delivered: &Delivered,
    declined: &[String],
) -> String {
    let mut message = match outcome {
        Ok(_) => end_message(delivered),
        Err(err) => match err.status() {
            "interrupted" => "Cancelled".to_string(),
            "timeout" => "Timed out".to_string(),
            _ => format!("Failed: {err}"),
        },
    };
    for note in declined {
        message.push_str(". ");
        message.push_str(note);
    }
    message
}

fn end_message(delivered: &Delivered) -> String {
    match (&delivered.edit, delivered.findings) {
        (Some(edit), _) => {
            let status = match edit.status {
                ext::EditStatus::Applied => "Edit applied",
                ext::EditStatus::Proposed => "Edit proposed",
                ext::EditStatus::NotApplied => "Edit not applied: the selection changed",
                ext::EditStatus::Rejected => "Edit rejected by the editor",
            };
            match one_line(&edit.explanation) {
                explanation if explanation.is_empty() => status.to_string(),
                explanation => format!("{status}. {explanation}"),
            }
        }
        (None, Some(count)) => {
            let found = match count {
                0 => "Review: no findings".to_string(),
                1 => "Review: 1 finding".to_string(),
                n => format!("Review: {n} findings"),
            };
            match (&delivered.review_summary, count) {
                (Some(summary), 1..) => format!("{found}: {summary}"),
                _ => found,
            }
        }
        (None, None) => match &delivered.answer_file {
            Some(path) => format!("Codex answered: {}", path.display()),
            None => "Codex answered".to_string(),
        },
    }
}

/// Whether the editor rejected the run's edit.
fn rejected(delivered: &Delivered) -> bool {
    delivered
        .edit
        .as_ref()
        .is_some_and(|edit| edit.status == ext::EditStatus::Rejected)
}

/// Text on one line, as status lines and progress messages show it.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How many findings the end message names before "and N more".
const SUMMARY_FINDINGS: usize = 3;

/// The findings within the reviewed lines (`lines` 0-based, as the target
/// keeps them), each as `line N: message`, the first few in one line.
fn review_summary(findings: &[Finding], lines: (u32, u32)) -> Option<String> {
    let reviewed = (lines.0 + 1)..=(lines.1 + 1);
    let within: Vec<&Finding> = findings
        .iter()
        .filter(|finding| {
            reviewed.contains(&finding.start_line)
                && reviewed.contains(&finding.end_line)
                && finding.start_line <= finding.end_line
        })
        .collect();
    if within.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = within
        .iter()
        .take(SUMMARY_FINDINGS)
        .map(|finding| {
            let at = if finding.start_line == finding.end_line {
                format!("line {}", finding.start_line)
            } else {
                format!("lines {}-{}", finding.start_line, finding.end_line)
            };
            format!("{at}: {}", one_line(&finding.message))
        })
        .collect();
    if within.len() > SUMMARY_FINDINGS {
        parts.push(format!("and {} more", within.len() - SUMMARY_FINDINGS));
    }
    Some(parts.join("; "))
}

/// What a run streams, for its progress messages.
fn streamed_form(target: &Target) -> StreamedForm {
    match target {
        Target::Answer => StreamedForm::Prose,
        Target::Edit(_) => StreamedForm::Edit,
        Target::Review(_) => StreamedForm::Review,
    }
}

/// A Codex CLI outside the tested range gets a notice, once per session.
async fn notice_untested_version(session: &Session) {
    if let Some(notice) = session.untested_version_notice()
        && session.take_version_warning()
    {
        session.client.show_message(MessageType::INFO, notice).await;
    }
}

/// Shows the answer to a client that gave no progress token: a markdown file
/// under the per-workspace answers folder (outside the workspace), opened
/// with `window/showDocument`. When the client cannot show documents, or
/// showing fails or is declined, `window/showMessage` carries the answer and
/// names the file; without a private folder for the file, the message
/// carries the answer alone. Returns the file written.
async fn show_answer(
    session: &Session,
    run: &ActiveRun,
    result: &PromptRunResult,
    declined: &[String],
) -> Option<PathBuf> {
    let name = from_proto::file_path(&run.uri)
        .and_then(|path| {
            path.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| {
            let uri = run.uri.as_str();
            uri.rsplit('/').next().unwrap_or(uri).to_string()
        });
    let markdown = answer_markdown(run, &name, &result.assistant_text, declined);
    let answer_name = crate::answers::AnswerName {
        file: &name,
        title: &run.title,
    };
    let path = match crate::answers::write(&session.workspace_folders(), answer_name, &markdown) {
        Ok(path) => path,
        Err(err) => {
            tracing::warn!("could not write the answer file: {err}");
            let text = answer_message(run, &result.assistant_text, declined, None);
            session.client.show_message(MessageType::INFO, text).await;
            return None;
        }
    };
    let pointer = answer_message(run, &result.assistant_text, declined, Some(&path));
    let file_uri = Uri::from_file_path(&path);
    match file_uri {
        Some(file_uri) if session.support().show_document => {
            let params = to_proto::show_answer_file(file_uri);
            let client = session.client.clone();
            // Sent from a task of its own: never wait on a client request
            // in the run's path. A file the client did not show would be
            // unannounced: say where it is instead.
            tokio::spawn(async move {
                let shown =
                    tokio::time::timeout(CLIENT_REQUEST_TIMEOUT, client.show_document(params))
                        .await;
                match shown {
                    Ok(Ok(true)) => return,
                    Ok(Ok(false)) => tracing::warn!("the client declined to show the answer file"),
                    Ok(Err(err)) => tracing::warn!("window/showDocument failed: {err}"),
                    Err(_) => tracing::warn!("the client did not answer window/showDocument"),
                }
                client.show_message(MessageType::INFO, pointer).await;
            });
        }
        _ => {
            session
                .client
                .show_message(MessageType::INFO, pointer)
                .await
        }
    }
    Some(path)
}

/// The answer file: what was asked (title, where, the prompt) at the top,
/// then the answer, then any approvals the editor could not ask for.
fn answer_markdown(run: &ActiveRun, file: &str, answer: &str, declined: &[String]) -> String {
    let prompt: String = run
        .prompt
        .lines()
        .map(|line| format!("> {line}\n"))
        .collect();
    let mut markdown = format!(
        "# {}\n\n`{file}`, {}\n\n{prompt}\n{answer}\n",
        run.title, run.location
    );
    for note in declined {
        markdown.push_str(&format!("\n> **Note:** {note}.\n"));
    }
    markdown
}

/// The answer in `window/showMessage`. A file's path goes on the first and
/// the last line: some clients show only the first line of a message
/// (Kakoune's status line), others only its last lines (eglot's echo area).
fn answer_message(
    run: &ActiveRun,
    answer: &str,
    declined: &[String],
    file: Option<&std::path::Path>,
) -> String {
    let mut text = match file {
        Some(path) => format!(
            "{}: the whole answer is in {}\n\n",
            run.title,
            path.display()
        ),
        None => String::new(),
    };
    text.push_str(answer.trim_end());
    for note in declined {
        text.push_str(&format!("\n\n{note}."));
    }
    if let Some(path) = file {
        text.push_str(&format!("\n\n(Whole answer: {})", path.display()));
    }
    text
}
