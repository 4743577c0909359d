//! Conversions from our types to LSP types, named after their target.

use std::path::Path;

use tower_lsp_server::ls_types::{self as lsp, NumberOrString, ProgressToken};

use crate::document::{Position, PositionEncoding, Range};
use crate::lsp::ext;
use crate::prompt::approval::{ApprovalDecision, ApprovalQuestion, ApprovalSubject};
use crate::prompt::conversation;
use crate::prompt::steps::{ChangeKind, PlanStatus, PlanStep, Step, StepFileChange, StepKind};
use crate::prompt::steps::{StepStatus, StepSummary, StepUpdate, TokenUsage};
use crate::prompt::stream::ReportBatch;
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
    title: &str,
    message: &str,
) -> ext::CodexProgressParams {
    progress(
        token,
        ext::ProgressValue::Begin(ext::ProgressBegin {
            title: title.to_string(),
            cancellable: true,
            message: message.to_string(),
            codex: ext::BeginExt { run_id },
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
        ext::ProgressValue::End(ext::ProgressEnd {
            message: message.to_string(),
            codex,
        }),
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
        let begin = progress_begin(&token(), 7, "Codex: Explain", "lines 3-5");
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
                    "codex": {"runId": 7},
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
