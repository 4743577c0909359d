//! Executes one prompt run: connect (starting the app-server if needed),
//! continue or start the thread, start the turn, stream its answer, and read
//! the outcome from `turn/completed`. Every step is bounded by the run's
//! limits: a cancel or the deadline ends the run at once in any phase, and
//! interrupts the turn when there is one (also a turn whose start was still
//! unanswered). An app-server that dies fails the run at once.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use crate::codex::protocol::{
    FileChangeItem, PatchApplyStatus, SandboxMode, ThreadResumeParams, ThreadStartParams,
    TurnSandbox, TurnStartParams, TurnStatus,
};
use crate::codex::steps::StepEvent;
use crate::codex::{AppServer, Supervisor, TurnEvent, TurnStream};

use super::approval::{self, ApprovalSettings, ProposedChanges};
use super::error::{PromptRunError, TurnFailure};
use super::input::build_input;
use super::limits::RunLimits;
use super::params::{PromptAttachment, PromptRunParams, PromptRunResult};
use super::stream::{AnswerDelta, AnswerText};

/// After `turn/interrupt`, how long to wait for `turn/completed` (the real
/// server takes 15 to 55 ms). Cancel must end a run within 1 s.
const INTERRUPT_GRACE: Duration = Duration::from_millis(700);

/// What a run reports while it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEvent {
    /// The turn has started on this thread.
    Started { thread_id: String, turn_id: String },
    /// A piece of the answer.
    Delta(AnswerDelta),
    /// Something the user should know about the run's conversation.
    Notice(String),
    /// The agent is about to change files (a started `fileChange` item):
    /// the files on disk are still as the change's diff expects.
    FileChangeProposed(FileChangeItem),
    /// The agent changed files (a completed and applied `fileChange` item).
    FileChanged(FileChangeItem),
    /// A `fileChange` item that did not apply (failed or declined).
    FileChangeEnded(FileChangeItem),
    /// A step of the agent's work (reasoning, plan, a command, ...).
    Step(StepEvent),
    /// codex lost the stream and tries again.
    Retry {
        message: String,
        details: Option<String>,
    },
}

/// A thread a run continued or started, valid for one app-server generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadBinding {
    pub generation: u64,
    pub thread_id: String,
    /// Turns run on the thread through codex-ls.
    pub turns: u32,
    /// The thread's sandbox policy as codex resolved it at `thread/start`
    /// or `thread/resume`, which answer turns give back after a read-only
    /// edit or review turn.
    pub sandbox: Option<Value>,
}

/// Runs `params` on `codex_path`'s app-server. `thread` is the thread to
/// continue (ignored if it belongs to a dead app-server). Returns the result
/// and the thread it ran on, whatever the outcome.
pub async fn execute(
    supervisor: &Supervisor,
    codex_path: &str,
    params: &PromptRunParams,
    thread: Option<ThreadBinding>,
    approvals: &ApprovalSettings,
    events: &mpsc::UnboundedSender<RunEvent>,
    limits: &RunLimits,
) -> (
    Result<PromptRunResult, PromptRunError>,
    Option<ThreadBinding>,
) {
    if let Err(err) = check_params(params) {
        return (Err(err), thread);
    }
    // A run that stops while the app-server starts leaves the start going
    // (the supervisor owns it); the thread binding stays as it was.
    let server = match limits.bound(supervisor.connect(codex_path)).await {
        Ok(Ok(server)) => server,
        Ok(Err(err)) => return (Err(err.into()), None),
        Err(stop) => return (Err(stop), thread),
    };
    let binding = match limits
        .bound(bind_thread(&server, params, thread.clone(), events))
        .await
    {
        Ok(Ok(binding)) => binding,
        Ok(Err(err)) => return (Err(err), None),
        Err(stop) => return (Err(stop), thread),
    };
    let result = run_turn(&server, &binding, params, approvals, events, limits).await;
    let binding = ThreadBinding {
        turns: binding.turns + 1,
        ..binding
    };
    (result, Some(binding))
}

/// Continues `thread` if it lives on this app-server, resumes it if it was
/// started by an earlier one (the app-server persists threads), else starts
/// a new thread, saying so when an earlier conversation is lost.
async fn bind_thread(
    server: &AppServer,
    params: &PromptRunParams,
    thread: Option<ThreadBinding>,
    events: &mpsc::UnboundedSender<RunEvent>,
) -> Result<ThreadBinding, PromptRunError> {
    let Some(previous) = thread else {
        return start_thread(server, params).await;
    };
    if previous.generation == server.generation() {
        return Ok(previous);
    }
    let resumed = server
        .thread_resume(&ThreadResumeParams {
            thread_id: previous.thread_id.clone(),
            cwd: params.cwd.to_string_lossy().into_owned(),
            sandbox: params.sandbox_policy,
            approval_policy: params.approval_policy,
            model: params.model.clone(),
            exclude_turns: true,
        })
        .await;
    match resumed {
        Ok(resumed) => Ok(ThreadBinding {
            generation: server.generation(),
            thread_id: resumed.thread.id,
            turns: previous.turns,
            sandbox: resumed.sandbox,
        }),
        Err(err) => {
            tracing::info!("could not resume thread {}: {err}", previous.thread_id);
            let _ = events.send(RunEvent::Notice(
                "Codex restarted and the conversation could not be resumed; started a new one"
                    .to_string(),
            ));
            start_thread(server, params).await
        }
    }
}

fn check_params(params: &PromptRunParams) -> Result<(), PromptRunError> {
    if params.sandbox_policy == SandboxMode::DangerFullAccess
        && !params.privileged_escalation_approved
    {
        return Err(PromptRunError::EscalationNotApproved);
    }
    for attachment in &params.attachments {
        let path = match attachment {
            PromptAttachment::AtPath { path, .. } | PromptAttachment::LocalImage { path } => path,
            PromptAttachment::Skill { path, .. } => path,
            PromptAttachment::ImageUrl { .. } => continue,
        };
        let full = params.cwd.join(path);
        if !full.exists() {
            return Err(PromptRunError::AttachmentNotFound { path: full });
        }
    }
    Ok(())
}

async fn start_thread(
    server: &AppServer,
    params: &PromptRunParams,
) -> Result<ThreadBinding, PromptRunError> {
    let started = server
        .thread_start(&ThreadStartParams {
            cwd: params.cwd.to_string_lossy().into_owned(),
            sandbox: params.sandbox_policy,
            approval_policy: params.approval_policy,
            model: params.model.clone(),
        })
        .await?;
    Ok(ThreadBinding {
        generation: server.generation(),
        thread_id: started.thread.id,
        turns: 0,
        sandbox: started.sandbox,
    })
}

async fn run_turn(
    server: &Arc<AppServer>,
    binding: &ThreadBinding,
    params: &PromptRunParams,
    approvals: &ApprovalSettings,
    events: &mpsc::UnboundedSender<RunEvent>,
    limits: &RunLimits,
) -> Result<PromptRunResult, PromptRunError> {
    let thread_id = binding.thread_id.as_str();
    // Subscribe before the turn starts so no notification is missed.
    let mut stream = TurnStream::new(server.subscribe(thread_id));
    let turn_id = start_turn(server, binding, params, limits).await?;
    stream.set_turn_id(&turn_id);
    // Notices codex sent at start-up (a configuration warning) are shown
    // once, by the first turn after them.
    for notice in server.take_notices() {
        let _ = events.send(RunEvent::Step(StepEvent::Notice(notice)));
    }
    let _ = events.send(RunEvent::Started {
        thread_id: thread_id.to_string(),
        turn_id: turn_id.clone(),
    });
    let ids = TurnIds {
        thread_id,
        turn_id: &turn_id,
    };
    let mut answer = AnswerText::default();
    let mut last_error = None;
    let mut proposed = ProposedChanges::default();
    // Pending approvals are declined when the turn ends, whatever the way.
    let approvals_done = limits.cancel().child_token();
    let _decline_pending = approvals_done.clone().drop_guard();
    loop {
        let event = match limits.bound(stream.next()).await {
            Ok(event) => event,
            Err(stop) => {
                interrupt(server, &ids, &mut stream).await;
                return Err(stop);
            }
        };
        let Some(event) = event else {
            return Err(PromptRunError::BackendUnavailable(
                crate::codex::BackendError::Crashed,
            ));
        };
        match event {
            TurnEvent::AgentDelta { item_id, delta } => {
                let _ = events.send(RunEvent::Delta(answer.push(&item_id, &delta)));
            }
            TurnEvent::AgentMessageCompleted { item_id, text } => {
                if let Some(correction) = answer.complete(&item_id, &text) {
                    let _ = events.send(RunEvent::Delta(correction));
                }
            }
            TurnEvent::Error { error, will_retry } => {
                tracing::info!(
                    "codex reported an error (will retry: {will_retry}): {}",
                    error.message
                );
                if will_retry {
                    let _ = events.send(RunEvent::Retry {
                        message: error.message.clone(),
                        details: error.additional_details.clone(),
                    });
                }
                last_error = Some(error);
            }
            TurnEvent::FileChange { item, completed } => {
                let change = match FileChangeItem::from_item(&item) {
                    Some(Ok(change)) => change,
                    Some(Err(err)) => {
                        tracing::warn!(
                            "ignoring a malformed fileChange item: {}",
                            crate::codex::serde_message::without_values(&err)
                        );
                        continue;
                    }
                    None => continue,
                };
                proposed.record(&change);
                if !completed {
                    let _ = events.send(RunEvent::FileChangeProposed(change));
                } else if change.status == PatchApplyStatus::Completed {
                    let _ = events.send(RunEvent::FileChanged(change));
                } else {
                    let _ = events.send(RunEvent::FileChangeEnded(change));
                }
            }
            TurnEvent::Step(step) => {
                let _ = events.send(RunEvent::Step(step));
            }
            TurnEvent::Request(request) => {
                let changes = approval::changes_for(&request, &proposed);
                tokio::spawn(approval::answer(
                    request,
                    approvals.clone(),
                    changes,
                    approvals_done.clone(),
                ));
            }
            TurnEvent::Completed(turn) => {
                return finish(turn, &ids, &mut answer, last_error, events);
            }
        }
    }
}

/// Sends `turn/start` and returns the turn's id. If the run stops before
/// the answer comes, the request is left to finish on a task of its own,
/// which interrupts the turn it started: nothing runs on behind the user's
/// back.
async fn start_turn(
    server: &Arc<AppServer>,
    binding: &ThreadBinding,
    params: &PromptRunParams,
    limits: &RunLimits,
) -> Result<String, PromptRunError> {
    let thread_id = binding.thread_id.as_str();
    let request = TurnStartParams {
        thread_id: thread_id.to_string(),
        input: build_input(&params.prompt, &params.attachments),
        model: params.model.clone(),
        effort: params.effort.clone(),
        output_schema: params.output_schema.clone(),
        approval_policy: Some(params.approval_policy),
        sandbox_policy: Some(turn_sandbox(binding, params)),
        cwd: Some(params.cwd.to_string_lossy().into_owned()),
    };
    let mut started = Box::pin({
        let server = server.clone();
        async move { server.turn_start(&request).await }
    });
    tokio::select! {
        biased;
        stop = limits.stopped() => {
            let server = server.clone();
            let thread_id = thread_id.to_string();
            tokio::spawn(async move {
                if let Ok(started) = started.await {
                    let turn_id = started.turn.id;
                    tracing::info!("interrupting turn {turn_id}, which started after its run stopped");
                    if let Err(err) = server.turn_interrupt(&thread_id, &turn_id, INTERRUPT_GRACE).await {
                        tracing::warn!("turn/interrupt failed: {err}");
                    }
                }
            });
            Err(stop)
        }
        started = &mut started => Ok(started?.turn.id),
    }
}

/// The sandbox of a turn, sent on every turn: codex keeps a turn's policy
/// for the thread's later turns, so an answer after a read-only edit turn
/// must put the thread's own policy back, as codex resolved it (with what
/// the user's configuration added), or the configured sandbox when codex
/// did not say.
fn turn_sandbox(binding: &ThreadBinding, params: &PromptRunParams) -> TurnSandbox {
    match (params.turn_sandbox, &binding.sandbox) {
        (Some(forced), _) => forced.into(),
        (None, Some(own)) => TurnSandbox::AsSent(own.clone()),
        (None, None) => params.sandbox_policy.into(),
    }
}

struct TurnIds<'a> {
    thread_id: &'a str,
    turn_id: &'a str,
}

fn finish(
    turn: crate::codex::protocol::Turn,
    ids: &TurnIds<'_>,
    answer: &mut AnswerText,
    last_error: Option<crate::codex::protocol::TurnError>,
    events: &mpsc::UnboundedSender<RunEvent>,
) -> Result<PromptRunResult, PromptRunError> {
    match turn.status {
        TurnStatus::Completed => {
            let text = match answer.final_text() {
                Some(text) => text.to_string(),
                None => turn
                    .last_agent_message()
                    .ok_or(PromptRunError::CompletedWithoutAssistantText)?
                    .to_string(),
            };
            if let Some(correction) = answer.settle(&text) {
                let _ = events.send(RunEvent::Delta(correction));
            }
            if text.trim().is_empty() {
                return Err(PromptRunError::EmptyAssistantText);
            }
            Ok(PromptRunResult {
                thread_id: ids.thread_id.to_string(),
                turn_id: ids.turn_id.to_string(),
                assistant_text: text,
            })
        }
        TurnStatus::Interrupted => Err(PromptRunError::Interrupted { requested: false }),
        _ => {
            let error = turn.error.or(last_error);
            Err(PromptRunError::TurnFailed(Box::new(TurnFailure {
                message: error
                    .as_ref()
                    .map(|error| error.message.clone())
                    .unwrap_or_else(|| "the turn failed without a reason".to_string()),
                codex_error_info: error
                    .as_ref()
                    .and_then(|error| error.codex_error_info.clone()),
                additional_details: error.and_then(|error| error.additional_details),
                thread_id: ids.thread_id.to_string(),
                turn_id: ids.turn_id.to_string(),
            })))
        }
    }
}

/// Asks codex to stop the turn and waits briefly for it to confirm, so the
/// thread is idle for the next run. Gives up after `INTERRUPT_GRACE`: the
/// caller reports the run ended either way.
async fn interrupt(server: &AppServer, ids: &TurnIds<'_>, stream: &mut TurnStream) {
    let confirmed = async {
        if let Err(err) = server
            .turn_interrupt(ids.thread_id, ids.turn_id, INTERRUPT_GRACE)
            .await
        {
            tracing::warn!("turn/interrupt failed: {err}");
            return;
        }
        while let Some(event) = stream.next().await {
            if matches!(event, TurnEvent::Completed(_)) {
                return;
            }
        }
    };
    if tokio::time::timeout(INTERRUPT_GRACE, confirmed)
        .await
        .is_err()
    {
        tracing::warn!(
            "codex did not confirm the interrupt within {}",
            crate::codex::error::readable(INTERRUPT_GRACE)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_turn_gives_the_thread_its_own_sandbox_back() {
        let own =
            json!({"type": "workspaceWrite", "writableRoots": ["/data"], "networkAccess": true});
        let binding = ThreadBinding {
            generation: 1,
            thread_id: "th".into(),
            turns: 1,
            sandbox: Some(own.clone()),
        };
        let mut params = PromptRunParams::new("/w".into(), "Go".into());
        params.sandbox_policy = SandboxMode::WorkspaceWrite;
        assert_eq!(
            turn_sandbox(&binding, &params),
            TurnSandbox::AsSent(own),
            "what the user's configuration added is kept"
        );
        params.turn_sandbox = Some(SandboxMode::ReadOnly);
        let forced = serde_json::to_value(turn_sandbox(&binding, &params)).unwrap();
        assert_eq!(forced, json!({"type": "readOnly"}));
        params.turn_sandbox = None;
        let unknown = ThreadBinding {
            sandbox: None,
            ..binding
        };
        let configured = serde_json::to_value(turn_sandbox(&unknown, &params)).unwrap();
        assert_eq!(configured, json!({"type": "workspaceWrite"}));
    }
}
