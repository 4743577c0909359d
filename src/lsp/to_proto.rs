//! Conversions from our types to LSP types, named after their target: every
//! value codex-ls sends the client (diagnostics, edits, code actions, their
//! `data`, progress, request params, the capabilities) is built here, from
//! our types and the payload structs of `ext`.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use tower_lsp_server::ls_types::{self as lsp, NumberOrString, ProgressToken};

use crate::document::{Position, PositionEncoding, Range};
use crate::lsp::ext;
use crate::prompt::approval::{ApprovalDecision, ApprovalQuestion, ApprovalSubject};
use crate::prompt::conversation;
use crate::prompt::hunks::Hunk;
use crate::prompt::steps::{ChangeKind, PlanStatus, PlanStep, Step, StepFileChange, StepKind};
use crate::prompt::steps::{StepStatus, StepSummary, StepUpdate, TokenUsage};
use crate::prompt::stream::ReportBatch;
use crate::prompt::structured::{Severity, ValidFinding};
use crate::prompt::{PromptRunError, PromptRunResult};

pub fn position(position: Position) -> lsp::Position {
    lsp::Position {
        line: position.line,
        character: position.character,
    }
}

pub fn range(range: Range) -> lsp::Range {
    lsp::Range {
        start: position(range.start),
        end: position(range.end),
    }
}

pub fn position_encoding_kind(encoding: PositionEncoding) -> lsp::PositionEncodingKind {
    lsp::PositionEncodingKind::new(encoding.as_str())
}

/// The source of our failure diagnostics.
pub const DIAGNOSTIC_SOURCE: &str = "codex";

/// A failed run as a diagnostic on `range`, with what its code actions need
/// in `data`. A Warning: a failed run says nothing about the code under it
/// (see `PromptRunError::is_about_the_code`), and an Error there would read
/// as a problem in correct code.
pub fn diagnostic(
    error: &PromptRunError,
    range: lsp::Range,
    data: Option<&ext::FailureData>,
) -> lsp::Diagnostic {
    let severity = if error.is_about_the_code() {
        lsp::DiagnosticSeverity::ERROR
    } else {
        lsp::DiagnosticSeverity::WARNING
    };
    lsp::Diagnostic {
        range,
        severity: Some(severity),
        code: Some(NumberOrString::String(error.code().to_string())),
        source: Some(DIAGNOSTIC_SOURCE.to_string()),
        message: error.to_string(),
        data: data.and_then(|data| serde_json::to_value(data).ok()),
        ..Default::default()
    }
}

/// A conversation's scope, as `codex.status` names it.
pub fn scope(scope: conversation::Scope) -> ext::Scope {
    match scope {
        conversation::Scope::Document => ext::Scope::Document,
        conversation::Scope::Workspace => ext::Scope::Workspace,
    }
}

/// A run's `begin` on `token`. Every run can be cancelled.
pub fn progress_begin(
    token: &ProgressToken,
    run_id: u64,
    kind: ext::RunKind,
    title: &str,
    message: &str,
) -> ext::CodexProgressParams {
    progress(
        token,
        ext::ProgressValue::Begin(ext::ProgressBegin {
            title: title.to_string(),
            cancellable: true,
            message: message.to_string(),
            codex: ext::BeginExt { run_id, kind },
        }),
    )
}

/// The thread and turn a run's turn streams on, once Codex has named them.
#[derive(Debug, Clone, Default)]
pub struct TurnIds {
    pub thread_id: Option<String>,
    pub turn_id: Option<String>,
}

/// One coalesced `report` on `token`: `batch`'s deltas, the steps changed
/// since the previous report, `message` the current step.
pub fn progress_report(
    token: &ProgressToken,
    run_id: u64,
    ids: &TurnIds,
    message: &str,
    batch: ReportBatch,
    steps: &[StepUpdate],
) -> ext::CodexProgressParams {
    progress(
        token,
        ext::ProgressValue::Report(ext::ProgressReport {
            message: message.to_string(),
            codex: ext::ReportExt {
                run_id,
                thread_id: ids.thread_id.clone(),
                turn_id: ids.turn_id.clone(),
                delta: batch.delta,
                seq: batch.seq,
                reset: batch.reset,
                items: steps.iter().map(item_update).collect(),
            },
        }),
    )
}

/// What a completed run delivered besides its answer, as `end` reports it.
#[derive(Debug, Clone, Copy, Default)]
pub struct EndDelivery<'a> {
    /// The answer file written for a client that gave no token.
    pub answer_file: Option<&'a Path>,
    /// Edit runs: what became of the replacement.
    pub edit: Option<&'a ext::EditReport>,
    /// Review runs: how many findings were published.
    pub findings: Option<usize>,
    /// The run's steps and token usage.
    pub steps: Option<&'a StepSummary>,
}

/// The run's `end` on `token`: a completed run's answer and what it
/// delivered, or a failed one's status and error (and nothing delivered).
pub fn progress_end(
    token: &ProgressToken,
    run_id: u64,
    outcome: &Result<PromptRunResult, PromptRunError>,
    delivery: EndDelivery<'_>,
    message: &str,
) -> ext::CodexProgressParams {
    let codex = match outcome {
        Ok(result) => ext::EndExt {
            run_id,
            status: "completed".to_string(),
            assistant_text: Some(result.assistant_text.clone()),
            error: None,
            answer_file: delivery.answer_file.map(|path| path.display().to_string()),
            edit: delivery.edit.cloned(),
            findings: delivery.findings,
            items: final_items(delivery.steps),
            usage: usage(delivery.steps),
        },
        Err(err) => ext::EndExt {
            run_id,
            status: err.status().to_string(),
            assistant_text: None,
            error: Some(ext::ErrorExt {
                code: err.code().to_string(),
                message: err.to_string(),
            }),
            answer_file: None,
            edit: None,
            findings: None,
            items: final_items(delivery.steps),
            usage: usage(delivery.steps),
        },
    };
    progress(
        token,
        ext::ProgressValue::End(Box::new(ext::ProgressEnd {
            message: message.to_string(),
            codex,
        })),
    )
}

/// A `codex/requestApproval` for run `run_id`.
pub fn approval_request(run_id: u64, question: &ApprovalQuestion) -> ext::ApprovalRequestParams {
    let mut request = ext::ApprovalRequestParams {
        run_id,
        kind: ext::ApprovalKind::Command,
        title: question.title().to_string(),
        command: None,
        cwd: None,
        reason: question.reason.clone().filter(|reason| !reason.is_empty()),
        changes: None,
        permissions: None,
        decisions: question
            .decisions
            .iter()
            .map(|&decision| approval_decision(decision))
            .collect(),
    };
    match &question.subject {
        ApprovalSubject::Command { command, cwd } => {
            request.command = Some(command.clone());
            request.cwd = cwd.clone();
        }
        ApprovalSubject::FileChange { files } => {
            request.kind = ext::ApprovalKind::FileChange;
            request.changes = Some(
                files
                    .iter()
                    .map(|file| ext::FileChange {
                        path: file.path.clone(),
                        kind: match file.kind.as_str() {
                            "add" => ext::FileChangeKind::Add,
                            "delete" => ext::FileChangeKind::Delete,
                            _ => ext::FileChangeKind::Update,
                        },
                        diff: file.diff.clone(),
                    })
                    .collect(),
            );
        }
        ApprovalSubject::Permissions { summary } => {
            request.kind = ext::ApprovalKind::Permissions;
            request.permissions = Some(summary.clone());
        }
    }
    request
}

fn approval_decision(decision: ApprovalDecision) -> ext::ApprovalDecision {
    match decision {
        ApprovalDecision::Accept => ext::ApprovalDecision::Accept,
        ApprovalDecision::AcceptForSession => ext::ApprovalDecision::AcceptForSession,
        ApprovalDecision::Decline => ext::ApprovalDecision::Decline,
    }
}

/// A step's update for a `report`: text and output to append.
pub fn item_update(update: &StepUpdate) -> ext::Item {
    ext::Item {
        id: update.id.clone(),
        kind: item_type(update.kind),
        status: item_status(update.status),
        title: update.title.clone(),
        text: update.text.clone(),
        command: update.command.clone(),
        cwd: update.cwd.clone(),
        exit_code: update.exit_code,
        output_delta: update.output_delta.clone(),
        output_skipped: update.output_skipped as u64,
        output: None,
        changes: update.changes.as_deref().map(file_changes),
        plan: update.plan.as_deref().map(plan),
    }
}

/// A step's final state for the `end`.
pub fn item(step: &Step) -> ext::Item {
    let is_command = step.kind == StepKind::Command;
    ext::Item {
        id: step.id.clone(),
        kind: item_type(step.kind),
        status: item_status(step.status),
        title: step.title.clone(),
        text: (!step.text.is_empty()).then(|| step.text.clone()),
        command: step.command.clone(),
        cwd: step.cwd.clone(),
        exit_code: step.exit_code,
        output_delta: None,
        output_skipped: 0,
        output: is_command.then(|| step.output.clone()),
        changes: step.changes.as_deref().map(file_changes),
        plan: step.plan.as_deref().map(plan),
    }
}

fn final_items(steps: Option<&StepSummary>) -> Vec<ext::Item> {
    steps.map_or_else(Vec::new, |steps| steps.steps.iter().map(item).collect())
}

fn usage(steps: Option<&StepSummary>) -> Option<ext::Usage> {
    steps
        .and_then(|steps| steps.usage)
        .map(|usage: TokenUsage| ext::Usage {
            input_tokens: usage.input_tokens,
            cached_input_tokens: usage.cached_input_tokens,
            output_tokens: usage.output_tokens,
            reasoning_output_tokens: usage.reasoning_output_tokens,
            total_tokens: usage.total_tokens,
        })
}

fn item_type(kind: StepKind) -> ext::ItemType {
    match kind {
        StepKind::Reasoning => ext::ItemType::Reasoning,
        StepKind::Plan => ext::ItemType::Plan,
        StepKind::Command => ext::ItemType::Command,
        StepKind::FileChange => ext::ItemType::FileChange,
        StepKind::WebSearch => ext::ItemType::WebSearch,
        StepKind::ToolCall => ext::ItemType::ToolCall,
        StepKind::Retry => ext::ItemType::Retry,
        StepKind::Notice => ext::ItemType::Notice,
    }
}

fn item_status(status: StepStatus) -> ext::ItemStatus {
    match status {
        StepStatus::InProgress => ext::ItemStatus::InProgress,
        StepStatus::Completed => ext::ItemStatus::Completed,
        StepStatus::Failed => ext::ItemStatus::Failed,
        StepStatus::Declined => ext::ItemStatus::Declined,
    }
}

/// The files of a change, as steps and approvals show them.
pub fn file_changes(changes: &[StepFileChange]) -> Vec<ext::FileChange> {
    changes
        .iter()
        .map(|change| ext::FileChange {
            path: change.path.clone(),
            kind: match change.kind {
                ChangeKind::Add => ext::FileChangeKind::Add,
                ChangeKind::Delete => ext::FileChangeKind::Delete,
                ChangeKind::Update => ext::FileChangeKind::Update,
            },
            diff: change.diff.clone(),
        })
        .collect()
}

fn plan(steps: &[PlanStep]) -> Vec<ext::PlanStep> {
    steps
        .iter()
        .map(|entry| ext::PlanStep {
            step: entry.step.clone(),
            status: match entry.status {
                PlanStatus::Pending => ext::PlanStepStatus::Pending,
                PlanStatus::InProgress => ext::PlanStepStatus::InProgress,
                PlanStatus::Completed => ext::PlanStepStatus::Completed,
            },
        })
        .collect()
}

fn progress(token: &ProgressToken, value: ext::ProgressValue) -> ext::CodexProgressParams {
    ext::CodexProgressParams {
        token: token.clone(),
        value,
    }
}

/// A warning of ours (`source: "codex"`) on `range`: a run's outcome the
/// user must know about that is not a failure of the run (an edit not
/// applied, a change not merged).
pub fn codex_warning(range: Range, code: &str, message: String) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: self::range(range),
        severity: Some(lsp::DiagnosticSeverity::WARNING),
        code: Some(NumberOrString::String(code.to_string())),
        source: Some(DIAGNOSTIC_SOURCE.to_string()),
        message,
        ..Default::default()
    }
}

/// The source of review findings.
pub const REVIEW_SOURCE: &str = "codex-review";

/// A review finding as a diagnostic on `range` (its whole lines). One with
/// a suggestion shows it in `relatedInformation` (editors list it under the
/// finding) and carries what its quick fix needs in `data`.
pub fn review_finding(
    uri: &lsp::Uri,
    range: lsp::Range,
    finding: &ValidFinding,
    data: Option<&ext::FindingData>,
) -> lsp::Diagnostic {
    let related = finding.suggestion.as_ref().map(|suggestion| {
        vec![lsp::DiagnosticRelatedInformation {
            location: lsp::Location {
                uri: uri.clone(),
                range,
            },
            message: format!("Suggestion: {suggestion}"),
        }]
    });
    lsp::Diagnostic {
        range,
        severity: Some(match finding.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            Severity::Information => lsp::DiagnosticSeverity::INFORMATION,
            Severity::Hint => lsp::DiagnosticSeverity::HINT,
        }),
        code: Some(NumberOrString::String("review".to_string())),
        source: Some(REVIEW_SOURCE.to_string()),
        message: finding.message.clone(),
        related_information: related,
        data: data.and_then(|data| serde_json::to_value(data).ok()),
        ..Default::default()
    }
}

/// Puts a published finding on the lines `first..=last`, now at `range`:
/// its range, its suggestion's place and its `data` move together.
pub fn move_finding(finding: &mut lsp::Diagnostic, range: lsp::Range, (first, last): (u32, u32)) {
    finding.range = range;
    for related in finding.related_information.iter_mut().flatten() {
        related.location.range = range;
    }
    let data = finding
        .data
        .as_ref()
        .and_then(|data| ext::FindingData::deserialize(data).ok());
    if let Some(mut data) = data {
        (data.first_line, data.last_line) = (first, last);
        finding.data = serde_json::to_value(data).ok();
    }
}

/// The command a run's code action puts in: the command's name and its
/// argument object, with only what the action chose.
pub fn command_call(command: &ext::Command) -> ext::RunCommand {
    let argument = match command {
        ext::Command::Run(args) => serde_json::to_value(args),
        ext::Command::Explain(args) => serde_json::to_value(args),
        ext::Command::Rewrite(args) => serde_json::to_value(args),
        ext::Command::Fix(args) => serde_json::to_value(args),
        ext::Command::Tests(args) => serde_json::to_value(args),
        ext::Command::Review(args) => serde_json::to_value(args),
        ext::Command::Action(args) => serde_json::to_value(args),
        ext::Command::ClearReview(args) => serde_json::to_value(args),
        ext::Command::NewThread(args) => serde_json::to_value(args),
        ext::Command::Cancel(args) => serde_json::to_value(args),
        ext::Command::ApplyProposal(args) => serde_json::to_value(args),
        ext::Command::DiscardProposal(args) => serde_json::to_value(args),
        // Conversations (issue 14, requirement 1).
        ext::Command::Conversation(args) => serde_json::to_value(args),
        ext::Command::Conversations(args) => serde_json::to_value(args),
        ext::Command::OpenConversation(args) => serde_json::to_value(args),
        ext::Command::Steer(args) => serde_json::to_value(args),
        ext::Command::Fork(args) => serde_json::to_value(args),
        ext::Command::UndoLast(args) => serde_json::to_value(args),
        // Editors send `[]` or `[{}]` to these alike; we send `{}`.
        ext::Command::Status | ext::Command::SignInHelp | ext::Command::OpenSettings => {
            Ok(Value::Object(serde_json::Map::new()))
        }
    };
    ext::RunCommand {
        command: command.name().as_str().to_string(),
        // Plain structs of strings and numbers: serializing cannot fail.
        argument: argument.unwrap_or_default(),
    }
}

/// The command an action runs, titled as the action.
pub fn command(title: &str, call: ext::RunCommand) -> lsp::Command {
    lsp::Command {
        title: title.to_string(),
        command: call.command,
        arguments: Some(vec![call.argument]),
    }
}

/// An action with its command now, or, for a client that resolves code
/// actions (`resolve`), with what `codeAction/resolve` needs in `data`.
pub fn code_action(offer: ext::ActionOffer, resolve: bool) -> lsp::CodeAction {
    let (command, data) = if resolve {
        let data = serde_json::to_value(ext::CodeActionData::Command(offer.call)).ok();
        (None, data)
    } else {
        (Some(command(&offer.title, offer.call)), None)
    };
    lsp::CodeAction {
        title: offer.title,
        kind: Some(offer.kind),
        diagnostics: offer.diagnostics,
        command,
        data,
        is_preferred: offer.is_preferred,
        ..Default::default()
    }
}

pub const APPLY_SUGGESTION_TITLE: &str = "Codex: Apply suggestion";

/// "Codex: Apply suggestion" for the review finding `diagnostic`: with its
/// `edit` now, or (when the client resolves edits) with `suggestion` in
/// `data` for `codeAction/resolve`.
pub fn suggestion_action(
    diagnostic: &lsp::Diagnostic,
    suggestion: ext::SuggestionData,
    edit: Option<lsp::WorkspaceEdit>,
) -> lsp::CodeAction {
    let data = match edit {
        Some(_) => None,
        None => serde_json::to_value(ext::CodeActionData::Suggestion { suggestion }).ok(),
    };
    lsp::CodeAction {
        title: APPLY_SUGGESTION_TITLE.to_string(),
        kind: Some(lsp::CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        is_preferred: Some(true),
        data,
        edit,
        ..Default::default()
    }
}

/// A text edit replacing `range` (of the document as the client has it).
pub fn text_edit(range: Range, new_text: String) -> lsp::TextEdit {
    lsp::TextEdit {
        range: self::range(range),
        new_text,
    }
}

/// Edits of one document. On `version` (a versioned `documentChanges`
/// edit, which the client refuses if the document moved on) when given and
/// the client supports it; as plain `changes` otherwise.
pub fn document_edit(
    uri: &lsp::Uri,
    version: Option<i32>,
    edits: Vec<lsp::TextEdit>,
) -> lsp::WorkspaceEdit {
    match version {
        Some(version) => lsp::WorkspaceEdit {
            document_changes: Some(lsp::DocumentChanges::Edits(vec![versioned(
                uri,
                version,
                edits.into_iter().map(lsp::OneOf::Left).collect(),
            )])),
            ..Default::default()
        },
        None => lsp::WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), edits)])),
            ..Default::default()
        },
    }
}

fn versioned(
    uri: &lsp::Uri,
    version: i32,
    edits: Vec<lsp::OneOf<lsp::TextEdit, lsp::AnnotatedTextEdit>>,
) -> lsp::TextDocumentEdit {
    lsp::TextDocumentEdit {
        text_document: lsp::OptionalVersionedTextDocumentIdentifier {
            uri: uri.clone(),
            version: Some(version),
        },
        edits,
    }
}

/// One hunk of an edit proposal, its old lines at `range` of the document.
pub fn proposal_hunk(hunk: &Hunk, range: Range) -> ext::ProposalHunk {
    ext::ProposalHunk {
        index: hunk.index,
        range: self::range(range),
        old_text: hunk.old_text.clone(),
        new_text: hunk.new_text.clone(),
    }
}

/// `window/showDocument` of an answer file: shown beside the code, without
/// taking the focus from it.
pub fn show_answer_file(uri: lsp::Uri) -> lsp::ShowDocumentParams {
    lsp::ShowDocumentParams {
        uri,
        external: Some(false),
        take_focus: Some(false),
        selection: None,
    }
}

/// The buttons of an approval's `window/showMessageRequest`.
pub fn message_actions<'a>(titles: impl Iterator<Item = &'a str>) -> Vec<lsp::MessageActionItem> {
    titles
        .map(|title| lsp::MessageActionItem {
            title: title.to_string(),
            properties: Default::default(),
        })
        .collect()
}

/// What `workspace/configuration` asks for: the `codex` section.
pub fn configuration_items() -> Vec<lsp::ConfigurationItem> {
    vec![lsp::ConfigurationItem {
        scope_uri: None,
        section: Some("codex".to_string()),
    }]
}

/// The answer to `initialize`: codex-ls's name and version, and what it
/// serves: documents synced incrementally in `encoding`, code actions of
/// `action_kinds` (resolved on demand), our commands, workspace folders.
pub fn initialize_result(
    encoding: PositionEncoding,
    action_kinds: Vec<lsp::CodeActionKind>,
) -> lsp::InitializeResult {
    lsp::InitializeResult {
        capabilities: server_capabilities(encoding, action_kinds),
        server_info: Some(lsp::ServerInfo {
            name: "codex-ls".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
        ..Default::default()
    }
}

fn server_capabilities(
    encoding: PositionEncoding,
    action_kinds: Vec<lsp::CodeActionKind>,
) -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        position_encoding: Some(position_encoding_kind(encoding)),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                ..Default::default()
            },
        )),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(action_kinds),
                resolve_provider: Some(true),
                ..Default::default()
            },
        )),
        execute_command_provider: Some(lsp::ExecuteCommandOptions {
            commands: ext::COMMANDS
                .iter()
                .map(|command| command.to_string())
                .collect(),
            ..Default::default()
        }),
        workspace: Some(lsp::WorkspaceServerCapabilities {
            workspace_folders: Some(lsp::WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: Some(lsp::OneOf::Left(true)),
            }),
            file_operations: None,
        }),
        ..Default::default()
    }
}

// Conversations (issue 14, requirement 1).

/// `codex.conversation`'s answer: each turn with its steps in the form of
/// `end.codex.items`.
pub fn conversation(history: &crate::prompt::history::History) -> ext::ConversationView {
    ext::ConversationView {
        thread_id: history.thread_id.clone(),
        title: history.title.clone(),
        turns: history
            .turns
            .iter()
            .map(|turn| ext::ConversationTurn {
                turn_id: turn.turn_id.clone(),
                prompt: turn.prompt.clone(),
                title: turn.title.clone(),
                status: turn_status(turn.status).to_string(),
                answer: turn.answer.clone(),
                items: turn.steps.steps.iter().map(item).collect(),
                started_at: turn.started_at,
            })
            .collect(),
    }
}

/// A line of `codex.conversations`' answer.
pub fn conversation_entry(
    summary: &crate::prompt::history::ThreadSummary,
) -> ext::ConversationEntry {
    ext::ConversationEntry {
        thread_id: summary.thread_id.clone(),
        title: summary.title.clone(),
        updated_at: summary.updated_at,
        turns: summary.turns,
    }
}

fn turn_status(status: crate::codex::protocol::TurnStatus) -> &'static str {
    use crate::codex::protocol::TurnStatus;
    match status {
        TurnStatus::Completed => "completed",
        TurnStatus::Interrupted => "interrupted",
        TurnStatus::Failed => "failed",
        TurnStatus::InProgress => "inProgress",
        TurnStatus::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    //! Each progress builder's output against the literal `$/progress` params
    //! the editor plugins read: a change of the wire format fails here.

    use serde_json::{Value, json};

    use super::*;

    fn token() -> ProgressToken {
        ProgressToken::String("codex-ls/run/7".to_string())
    }

    fn wire(params: ext::CodexProgressParams) -> Value {
        serde_json::to_value(&params).unwrap()
    }

    /// What the client decodes is what was built.
    fn round_trips(params: &ext::CodexProgressParams) {
        let decoded: ext::CodexProgressParams =
            serde_json::from_value(serde_json::to_value(params).unwrap()).unwrap();
        assert_eq!(&decoded, params);
    }

    #[test]
    fn begin_is_a_cancellable_work_done_begin_with_the_run_id() {
        let begin = progress_begin(
            &token(),
            7,
            ext::RunKind::Answer,
            "Codex: Explain",
            "lines 3-5",
        );
        round_trips(&begin);
        assert_eq!(
            wire(begin),
            json!({
                "token": "codex-ls/run/7",
                "value": {
                    "kind": "begin",
                    "title": "Codex: Explain",
                    "cancellable": true,
                    "message": "lines 3-5",
                    "codex": {"runId": 7, "kind": "answer"},
                },
            })
        );
    }

    #[test]
    fn report_carries_the_batch_and_ids_and_omits_reset_unless_set() {
        let ids = TurnIds {
            thread_id: Some("thr_1".to_string()),
            turn_id: Some("turn_2".to_string()),
        };
        let batch = ReportBatch {
            delta: "Hello 😀".to_string(),
            reset: false,
            seq: 3,
        };
        let report = progress_report(&token(), 7, &ids, "Hello 😀", batch, &[]);
        round_trips(&report);
        assert_eq!(
            wire(report),
            json!({
                "token": "codex-ls/run/7",
                "value": {
                    "kind": "report",
                    "message": "Hello 😀",
                    "codex": {
                        "runId": 7,
                        "threadId": "thr_1",
                        "turnId": "turn_2",
                        "delta": "Hello 😀",
                        "seq": 3,
                    },
                },
            })
        );
    }

    #[test]
    fn report_before_the_turn_started_has_null_ids_and_says_reset() {
        let batch = ReportBatch {
            delta: String::new(),
            reset: true,
            seq: 1,
        };
        let report = progress_report(
            &ProgressToken::Number(4),
            2,
            &TurnIds::default(),
            "",
            batch,
            &[],
        );
        round_trips(&report);
        assert_eq!(
            wire(report),
            json!({
                "token": 4,
                "value": {
                    "kind": "report",
                    "message": "",
                    "codex": {
                        "runId": 2,
                        "threadId": null,
                        "turnId": null,
                        "delta": "",
                        "seq": 1,
                        "reset": true,
                    },
                },
            })
        );
    }

    #[test]
    fn end_of_a_completed_run_carries_the_answer_and_what_it_delivered() {
        let outcome = Ok(PromptRunResult {
            thread_id: "thr_1".to_string(),
            turn_id: "turn_2".to_string(),
            assistant_text: "Done.".to_string(),
        });
        let edit = ext::EditReport {
            status: ext::EditStatus::NotApplied,
            replacement: "let x = 2;".to_string(),
            explanation: "renamed".to_string(),
            range: None,
            version: None,
            hunks: None,
            reason: Some("the selection changed".to_string()),
        };
        let delivery = EndDelivery {
            answer_file: Some(Path::new("/answers/a.md")),
            edit: Some(&edit),
            findings: Some(0),
            steps: None,
        };
        let end = progress_end(&token(), 7, &outcome, delivery, "Edit not applied");
        round_trips(&end);
        assert_eq!(
            wire(end),
            json!({
                "token": "codex-ls/run/7",
                "value": {
                    "kind": "end",
                    "message": "Edit not applied",
                    "codex": {
                        "runId": 7,
                        "status": "completed",
                        "assistantText": "Done.",
                        "answerFile": "/answers/a.md",
                        "edit": {
                            "status": "notApplied",
                            "replacement": "let x = 2;",
                            "explanation": "renamed",
                            "reason": "the selection changed",
                        },
                        "findings": 0,
                    },
                },
            })
        );
    }

    #[test]
    fn end_of_a_plain_answer_omits_what_was_not_delivered() {
        let outcome = Ok(PromptRunResult {
            thread_id: "thr_1".to_string(),
            turn_id: "turn_2".to_string(),
            assistant_text: "42".to_string(),
        });
        let end = progress_end(
            &token(),
            1,
            &outcome,
            EndDelivery::default(),
            "Codex answered",
        );
        round_trips(&end);
        assert_eq!(
            wire(end),
            json!({
                "token": "codex-ls/run/7",
                "value": {
                    "kind": "end",
                    "message": "Codex answered",
                    "codex": {"runId": 1, "status": "completed", "assistantText": "42"},
                },
            })
        );
    }

    #[test]
    fn end_of_a_failed_run_carries_status_and_error_and_nothing_delivered() {
        let edit = ext::EditReport {
            status: ext::EditStatus::Applied,
            replacement: String::new(),
            explanation: String::new(),
            range: None,
            version: None,
            hunks: None,
            reason: None,
        };
        // What was delivered before the failure is not reported.
        let delivery = EndDelivery {
            answer_file: Some(Path::new("/answers/a.md")),
            edit: Some(&edit),
            findings: Some(2),
            steps: None,
        };
        let timeout = Err(PromptRunError::Timeout { secs: 30 });
        let end = progress_end(&token(), 7, &timeout, delivery, "Timed out");
        round_trips(&end);
        assert_eq!(
            wire(end),
            json!({
                "token": "codex-ls/run/7",
                "value": {
                    "kind": "end",
                    "message": "Timed out",
                    "codex": {
                        "runId": 7,
                        "status": "timeout",
                        "error": {
                            "code": "timeout",
                            "message": "Codex did not finish within 30 s (`timeoutSecs`), so the run was stopped. Try a smaller selection or raise `timeoutSecs`",
                        },
                    },
                },
            })
        );
        let internal = Err(PromptRunError::Runtime("no disk".to_string()));
        let end = progress_end(&token(), 7, &internal, EndDelivery::default(), "Failed");
        assert_eq!(
            wire(end)["value"]["codex"],
            json!({
                "runId": 7,
                "status": "failed",
                "error": {
                    "code": "internal-error",
                    "message": "codex-ls could not prepare the run: no disk",
                },
            })
        );
    }

    // The payloads of code actions, findings and edits, against the literal
    // JSON editors read and send back: a renamed field fails here.

    fn uri() -> lsp::Uri {
        "file:///w/a.rs".parse().unwrap()
    }

    fn lsp_range(l1: u32, c1: u32, l2: u32, c2: u32) -> lsp::Range {
        range(Range::new(Position::new(l1, c1), Position::new(l2, c2)))
    }

    fn document() -> ext::TextDocumentRef {
        ext::TextDocumentRef::any_version(uri())
    }

    fn to_json<T: serde::Serialize>(value: T) -> Value {
        serde_json::to_value(value).unwrap()
    }

    fn offer(command: &ext::Command) -> ext::ActionOffer {
        ext::ActionOffer {
            title: "Codex: Explain selection".to_string(),
            kind: lsp::CodeActionKind::new("refactor.codex.explain"),
            call: command_call(command),
            diagnostics: None,
            is_preferred: None,
        }
    }

    #[test]
    fn the_arguments_code_actions_put_in_their_commands_carry_only_what_they_chose() {
        let selection = lsp_range(1, 0, 2, 3);
        let at = json!({"start": {"line": 1, "character": 0}, "end": {"line": 2, "character": 3}});
        let doc = json!({"uri": "file:///w/a.rs"});
        let failure = lsp::Diagnostic {
            range: selection,
            message: "unused".to_string(),
            ..Default::default()
        };
        let cases = [
            (
                ext::Command::Explain(ext::ExplainArgs::new(document(), Some(selection))),
                json!({"command": "codex.explain", "argument": {"textDocument": doc, "range": at}}),
            ),
            (
                ext::Command::Rewrite(ext::RewriteArgs::new(
                    document(),
                    selection,
                    Some(ext::RewritePreset::Simplify),
                )),
                json!({"command": "codex.rewrite",
                       "argument": {"textDocument": doc, "range": at, "preset": "simplify"}}),
            ),
            (
                ext::Command::Tests(ext::TestsArgs::new(
                    document(),
                    selection,
                    ext::TestsMode::Answer,
                )),
                json!({"command": "codex.tests", "argument": {"textDocument": doc, "range": at}}),
            ),
            (
                ext::Command::Tests(ext::TestsArgs::new(
                    document(),
                    selection,
                    ext::TestsMode::Edit,
                )),
                json!({"command": "codex.tests",
                       "argument": {"textDocument": doc, "range": at, "mode": "edit"}}),
            ),
            (
                ext::Command::Fix(ext::FixArgs::new(document(), selection, vec![failure])),
                json!({"command": "codex.fix", "argument": {"textDocument": doc, "range": at,
                       "diagnostics": [{"range": at, "message": "unused"}]}}),
            ),
            (
                ext::Command::Review(ext::ReviewArgs::new(document(), None)),
                json!({"command": "codex.review", "argument": {"textDocument": doc}}),
            ),
            (
                ext::Command::Action(ext::ActionArgs::new(
                    document(),
                    Some(selection),
                    "Port".to_string(),
                )),
                json!({"command": "codex.action",
                       "argument": {"textDocument": doc, "range": at, "title": "Port"}}),
            ),
            (
                ext::Command::SignInHelp,
                json!({"command": "codex.signInHelp", "argument": {}}),
            ),
            (
                ext::Command::OpenSettings,
                json!({"command": "codex.openSettings", "argument": {}}),
            ),
        ];
        for (command, wire) in cases {
            let call = command_call(&command);
            assert_eq!(to_json(&call), wire, "{command:?}");
            // What the action sends is what the command parses.
            let parsed = ext::Command::parse(&call.command, &[call.argument]).unwrap();
            assert_eq!(parsed.name(), command.name());
        }
    }

    #[test]
    fn a_code_action_has_its_command_or_what_resolve_needs_in_data() {
        let selection = lsp_range(0, 0, 0, 4);
        let explain = ext::Command::Explain(ext::ExplainArgs::new(document(), Some(selection)));
        let argument = json!({"textDocument": {"uri": "file:///w/a.rs"},
                              "range": {"start": {"line": 0, "character": 0},
                                        "end": {"line": 0, "character": 4}}});
        assert_eq!(
            to_json(code_action(offer(&explain), false)),
            json!({
                "title": "Codex: Explain selection",
                "kind": "refactor.codex.explain",
                "command": {
                    "title": "Codex: Explain selection",
                    "command": "codex.explain",
                    "arguments": [argument],
                },
            })
        );
        let mut retry = offer(&explain);
        retry.is_preferred = Some(true);
        let resolvable = code_action(retry, true);
        assert_eq!(
            to_json(&resolvable),
            json!({
                "title": "Codex: Explain selection",
                "kind": "refactor.codex.explain",
                "isPreferred": true,
                "data": {"command": "codex.explain", "argument": argument},
            })
        );
        // The data comes back on resolve and reads as the command.
        let data = ext::CodeActionData::deserialize(resolvable.data.as_ref().unwrap()).unwrap();
        let ext::CodeActionData::Command(call) = data else {
            panic!("{data:?}")
        };
        assert_eq!(
            to_json(command("Codex: Explain selection", call)),
            json!({"title": "Codex: Explain selection", "command": "codex.explain",
                   "arguments": [argument]})
        );
    }

    fn finding(suggestion: Option<&str>) -> ValidFinding {
        ValidFinding {
            first_line: 2,
            last_line: 3,
            severity: Severity::Hint,
            message: "use iter".to_string(),
            suggestion: suggestion.map(str::to_string),
        }
    }

    #[test]
    fn a_review_finding_carries_its_suggestion_and_what_its_quick_fix_needs() {
        let lines = lsp_range(2, 0, 3, 5);
        let data = ext::FindingData {
            finding: 9,
            suggestion: "for x in v {}".to_string(),
            first_line: 2,
            last_line: 3,
            reviewed: "for i in 0..n {\n}".to_string(),
        };
        let mut diagnostic =
            review_finding(&uri(), lines, &finding(Some("for x in v {}")), Some(&data));
        let at = json!({"start": {"line": 2, "character": 0}, "end": {"line": 3, "character": 5}});
        assert_eq!(
            to_json(&diagnostic),
            json!({
                "range": at,
                "severity": 4,
                "code": "review",
                "source": "codex-review",
                "message": "use iter",
                "relatedInformation": [{
                    "location": {"uri": "file:///w/a.rs", "range": at},
                    "message": "Suggestion: for x in v {}",
                }],
                "data": {
                    "finding": 9,
                    "suggestion": "for x in v {}",
                    "firstLine": 2,
                    "lastLine": 3,
                    "reviewed": "for i in 0..n {\n}",
                },
            })
        );
        // Moved down a line, everything that says where it is moves.
        let moved = lsp_range(3, 0, 4, 5);
        move_finding(&mut diagnostic, moved, (3, 4));
        let wire = to_json(&diagnostic);
        assert_eq!(wire["range"], to_json(moved));
        assert_eq!(
            wire["relatedInformation"][0]["location"]["range"],
            to_json(moved)
        );
        assert_eq!(wire["data"]["firstLine"], 3);
        assert_eq!(wire["data"]["lastLine"], 4);
        assert_eq!(wire["data"]["finding"], 9);
        // A finding without a suggestion has neither.
        let plain = to_json(review_finding(&uri(), lines, &finding(None), None));
        assert_eq!(plain.get("data"), None);
        assert_eq!(plain.get("relatedInformation"), None);
    }

    #[test]
    fn apply_suggestion_has_its_edit_or_the_suggestion_in_data() {
        let lines = lsp_range(2, 0, 3, 5);
        let finding = review_finding(&uri(), lines, &finding(Some("x")), None);
        let suggestion = ext::SuggestionData {
            uri: uri(),
            finding: 9,
            suggestion: "x".to_string(),
            reviewed: "y".to_string(),
            range: lines,
        };
        let at = json!({"start": {"line": 2, "character": 0}, "end": {"line": 3, "character": 5}});
        let action = suggestion_action(&finding, suggestion.clone(), None);
        let wire = to_json(&action);
        assert_eq!(wire["title"], "Codex: Apply suggestion");
        assert_eq!(wire["kind"], "quickfix");
        assert_eq!(wire["isPreferred"], true);
        assert_eq!(wire["diagnostics"], json!([to_json(&finding)]));
        assert_eq!(
            wire["data"],
            json!({"suggestion": {"uri": "file:///w/a.rs", "finding": 9, "suggestion": "x",
                                  "reviewed": "y", "range": at}})
        );
        assert_eq!(wire.get("edit"), None);
        let data = ext::CodeActionData::deserialize(&wire["data"]).unwrap();
        assert_eq!(
            data,
            ext::CodeActionData::Suggestion {
                suggestion: suggestion.clone()
            }
        );

        let edit = document_edit(
            &uri(),
            None,
            vec![text_edit(
                Range::new(Position::new(2, 0), Position::new(4, 0)),
                "x\n".into(),
            )],
        );
        let wire = to_json(suggestion_action(&finding, suggestion, Some(edit)));
        assert_eq!(wire.get("data"), None);
        assert_eq!(
            wire["edit"],
            json!({"changes": {"file:///w/a.rs": [{
                "range": {"start": {"line": 2, "character": 0}, "end": {"line": 4, "character": 0}},
                "newText": "x\n",
            }]}})
        );
    }

    #[test]
    fn a_failure_carries_the_command_to_retry_which_follows_its_diagnostic() {
        let at = json!({"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 4}});
        let sent = json!({"textDocument": {"uri": "file:///w/a.rs", "version": 3},
                          "range": at, "progressToken": "t"});
        let data = ext::FailureData {
            retry: ext::RunCommand::for_retry("codex.explain", &sent),
        };
        let error = PromptRunError::Timeout { secs: 30 };
        let failure = diagnostic(&error, lsp_range(1, 0, 1, 4), Some(&data));
        let wire = to_json(&failure);
        assert_eq!(
            wire["data"],
            json!({"retry": {"command": "codex.explain",
                             "argument": {"textDocument": {"uri": "file:///w/a.rs"}, "range": at}}})
        );
        assert_eq!(wire["source"], "codex");
        assert_eq!(wire["code"], "timeout");
        // The retry goes where the editor has the diagnostic now...
        let mut retry = data.retry.clone();
        retry.follow_diagnostic(lsp_range(5, 0, 5, 4));
        assert_eq!(retry.argument["range"], to_json(lsp_range(5, 0, 5, 4)));
        // ...unless the run was on the whole file.
        let whole = json!({"textDocument": {"uri": "file:///w/a.rs"},
                           "range": {"start": {"line": 0, "character": 2},
                                     "end": {"line": 0, "character": 2}}});
        let mut retry = ext::RunCommand::for_retry("codex.explain", &whole);
        retry.follow_diagnostic(lsp_range(5, 0, 5, 4));
        assert_eq!(retry.argument, whole);
    }

    #[test]
    fn our_warnings_edits_and_requests_keep_their_wire_form() {
        let lines = Range::new(Position::new(0, 0), Position::new(0, 7));
        let at = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 7}});
        assert_eq!(
            to_json(codex_warning(lines, "merge-conflict", "kept yours".into())),
            json!({"range": at, "severity": 2, "code": "merge-conflict",
                   "source": "codex", "message": "kept yours"})
        );
        let edit = || text_edit(lines, "new".into());
        assert_eq!(
            to_json(document_edit(&uri(), Some(4), vec![edit()])),
            json!({"documentChanges": [{
                "textDocument": {"uri": "file:///w/a.rs", "version": 4},
                "edits": [{"range": at, "newText": "new"}],
            }]})
        );
        assert_eq!(
            to_json(show_answer_file(uri())),
            json!({"uri": "file:///w/a.rs", "external": false, "takeFocus": false})
        );
        assert_eq!(
            to_json(message_actions(["Accept", "Decline"].into_iter())),
            json!([{"title": "Accept"}, {"title": "Decline"}])
        );
        assert_eq!(
            to_json(configuration_items()),
            json!([{"section": "codex"}])
        );
        let init = to_json(initialize_result(
            PositionEncoding::Utf16,
            vec![lsp::CodeActionKind::QUICKFIX],
        ));
        assert_eq!(init["serverInfo"]["name"], "codex-ls");
        assert_eq!(
            init["capabilities"]["codeActionProvider"],
            json!({"codeActionKinds": ["quickfix"], "resolveProvider": true})
        );
        assert_eq!(
            init["capabilities"]["executeCommandProvider"]["commands"],
            to_json(ext::COMMANDS)
        );
    }

    /// A command that ran, a plan and a retry, as the turn reported them.
    fn steps() -> crate::prompt::steps::StepLog {
        use crate::codex::steps::{ItemStatus, StepEvent, StepItem};
        let mut log = crate::prompt::steps::StepLog::new(Path::new("/w"));
        log.apply(&StepEvent::Item {
            item: StepItem::Command {
                id: "c1".into(),
                command: "cargo test".into(),
                cwd: Some("/w".into()),
                status: ItemStatus::InProgress,
                exit_code: None,
                output: None,
            },
            completed: false,
        });
        log.apply(&StepEvent::CommandOutput {
            item_id: "c1".into(),
            delta: "ok\n".into(),
        });
        log.apply(&StepEvent::Plan(vec![PlanStep {
            step: "Test".into(),
            status: PlanStatus::InProgress,
        }]));
        log.retry("Reconnecting... 2/5", Some("stream disconnected"));
        log
    }

    #[test]
    fn report_carries_the_changed_steps() {
        let batch = ReportBatch {
            delta: String::new(),
            reset: false,
            seq: 2,
        };
        let updates = steps().take_updates();
        let report = progress_report(
            &token(),
            7,
            &TurnIds::default(),
            "Reconnecting (2/5)",
            batch,
            &updates,
        );
        round_trips(&report);
        assert_eq!(
            wire(report)["value"]["codex"]["items"],
            json!([
                {"id": "c1", "type": "command", "status": "inProgress", "title": "Running `cargo test`",
                 "command": "cargo test", "cwd": "/w", "outputDelta": "ok\n"},
                {"id": "plan", "type": "plan", "status": "inProgress", "title": "Plan (0/1): Test",
                 "plan": [{"step": "Test", "status": "inProgress"}]},
                {"id": "retry-1", "type": "retry", "status": "inProgress", "title": "Reconnecting (2/5)",
                 "text": "stream disconnected"},
            ])
        );
    }

    #[test]
    fn end_carries_every_step_final_and_the_usage() {
        use crate::codex::steps::StepEvent;
        let mut log = steps();
        log.apply(&StepEvent::Usage(TokenUsage {
            input_tokens: 10,
            cached_input_tokens: 4,
            output_tokens: 3,
            reasoning_output_tokens: 1,
            total_tokens: 13,
        }));
        let summary = log.finish(false);
        let delivery = EndDelivery {
            steps: Some(&summary),
            ..EndDelivery::default()
        };
        let failed = Err(PromptRunError::Timeout { secs: 30 });
        let end = progress_end(&token(), 7, &failed, delivery, "Timed out");
        round_trips(&end);
        let codex = &wire(end)["value"]["codex"];
        assert_eq!(
            codex["items"][0],
            json!({"id": "c1", "type": "command", "status": "failed", "title": "Command failed: `cargo test`",
                   "command": "cargo test", "cwd": "/w", "output": "ok\n"})
        );
        assert_eq!(codex["items"][2]["status"], "failed");
        assert_eq!(
            codex["usage"],
            json!({"inputTokens": 10, "cachedInputTokens": 4, "outputTokens": 3,
                   "reasoningOutputTokens": 1, "totalTokens": 13})
        );
    }
}
