//! Conversions from our types to LSP types, named after their target.

use std::path::Path;

use tower_lsp_server::ls_types::{self as lsp, NumberOrString, ProgressToken};

use crate::document::{Position, PositionEncoding, Range};
use crate::lsp::ext;
use crate::prompt::conversation;
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

/// One coalesced `report` on `token`: `batch`'s deltas, `message` the
/// current step.
pub fn progress_report(
    token: &ProgressToken,
    run_id: u64,
    ids: &TurnIds,
    message: &str,
    batch: ReportBatch,
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
        let report = progress_report(&token(), 7, &ids, "Hello 😀", batch);
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
        let report = progress_report(&ProgressToken::Number(4), 2, &TurnIds::default(), "", batch);
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
}
