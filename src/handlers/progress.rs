//! A run's progress reporting: the token (ours created with
//! `window/workDoneProgress/create`, or the client's), `begin`, the run's
//! events coalesced into `report`s, and `end`. The values themselves are
//! built by `lsp::to_proto`; this module decides when they go.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tower_lsp_server::ls_types::{MessageType, ProgressToken};

use crate::lsp::ext::{CodexProgress, CodexProgressParams};
use crate::lsp::to_proto::{self, TurnIds};
use crate::prompt::RunEvent;
use crate::prompt::steps::StepLog;
use crate::prompt::stream::{ReportBuffer, StreamedForm};
use crate::session::Session;

use super::file_changes::{self, FileChangeEvent};

/// How long the client may take to answer a request we send it during a
/// run (creating our progress token, showing the answer file).
pub(super) const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Asks the client to create our token; false if it cannot stream.
pub(super) async fn create_token(session: &Session, token: &ProgressToken) -> bool {
    if !session.support().work_done_progress {
        return false;
    }
    match tokio::time::timeout(
        CLIENT_REQUEST_TIMEOUT,
        session.client.create_work_done_progress(token.clone()),
    )
    .await
    {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::warn!("window/workDoneProgress/create failed: {err}");
            false
        }
        Err(_) => {
            tracing::warn!("the client did not answer window/workDoneProgress/create");
            false
        }
    }
}

/// Sends one `$/progress` built by `to_proto`.
pub(super) async fn send_progress(session: &Session, progress: CodexProgressParams) {
    session
        .client
        .send_notification::<CodexProgress>(progress)
        .await;
}

/// Which of the run's streams moved last: the report's message says it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LastMoved {
    Answer,
    Step,
}

/// The run's pending answer text and steps, and what the report's message
/// says.
struct Pending {
    buffer: ReportBuffer,
    steps: StepLog,
    last: LastMoved,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.buffer.is_empty() && !self.steps.has_updates()
    }

    fn message(&self) -> String {
        match (self.last, self.steps.current_message()) {
            (LastMoved::Step, Some(step)) => step,
            _ => self.buffer.message(),
        }
    }
}

/// Coalesces the run's deltas and steps into at most one report per
/// `interval`, losslessly and in order. A change after a quiet spell goes
/// out at once; the rest wait for the window to pass. Without a `token`
/// nothing streams: the changes are taken and dropped. Notices and file
/// changes go their own ways too. Returns the run's steps.
pub(super) async fn report_loop(
    session: Arc<Session>,
    token: Option<ProgressToken>,
    run_id: u64,
    form: StreamedForm,
    interval: Duration,
    cwd: PathBuf,
    mut events: mpsc::UnboundedReceiver<RunEvent>,
) -> StepLog {
    let mut pending = Pending {
        buffer: ReportBuffer::new(form),
        steps: StepLog::new(&cwd),
        last: LastMoved::Answer,
    };
    let mut ids = TurnIds::default();
    let mut last_sent: Option<Instant> = None;
    // File changes go to a follower of their own, in order; it ends when
    // this loop does and its queue is done.
    let (file_changes, changes) = mpsc::unbounded_channel();
    tokio::spawn(file_changes::follow(session.clone(), cwd, run_id, changes));
    loop {
        let due = (!pending.is_empty())
            .then(|| last_sent.map_or_else(Instant::now, |sent| sent + interval));
        tokio::select! {
            event = events.recv() => match event {
                Some(RunEvent::Started { thread_id, turn_id }) => {
                    // What `codex.steer` needs to reach the turn.
                    session.runs.set_turn(run_id, crate::runs::RunTurn {
                        thread_id: thread_id.clone(),
                        turn_id: turn_id.clone(),
                    });
                    ids = TurnIds { thread_id: Some(thread_id), turn_id: Some(turn_id) };
                }
                Some(RunEvent::Delta(delta)) => {
                    pending.buffer.push(&delta);
                    pending.steps.answer_progressed();
                    pending.last = LastMoved::Answer;
                }
                Some(RunEvent::Step(step)) => {
                    pending.steps.apply(&step);
                    if StepLog::is_activity(&step) {
                        pending.last = LastMoved::Step;
                    }
                }
                Some(RunEvent::Retry { message, details }) => {
                    pending.steps.retry(&message, details.as_deref());
                    pending.last = LastMoved::Step;
                }
                Some(RunEvent::Notice(notice)) => {
                    session.client.show_message(MessageType::INFO, notice).await;
                }
                Some(RunEvent::FileChangeProposed(item)) => {
                    pending.steps.file_change(&item, false);
                    pending.last = LastMoved::Step;
                    let _ = file_changes.send(FileChangeEvent::Proposed(item));
                }
                Some(RunEvent::FileChanged(item)) => {
                    pending.steps.file_change(&item, true);
                    pending.last = LastMoved::Step;
                    let _ = file_changes.send(FileChangeEvent::Applied(item));
                }
                Some(RunEvent::FileChangeEnded(item)) => {
                    pending.steps.file_change(&item, true);
                    pending.last = LastMoved::Step;
                }
                None => break,
            },
            () = sleep_until_due(due) => {
                if let Some(token) = &token {
                    send_report(&session, token, run_id, &ids, &mut pending).await;
                } else {
                    pending.buffer.take();
                    pending.steps.take_updates();
                }
                last_sent = Some(Instant::now());
            }
        }
    }
    if let Some(token) = &token
        && !pending.is_empty()
    {
        if let Some(sent) = last_sent {
            tokio::time::sleep_until(sent + interval).await;
        }
        send_report(&session, token, run_id, &ids, &mut pending).await;
    }
    pending.steps
}

/// Waits for the next report to be due; forever while nothing waits.
async fn sleep_until_due(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// Sends what has gathered in `pending` as one `report`, if anything has.
async fn send_report(
    session: &Session,
    token: &ProgressToken,
    run_id: u64,
    ids: &TurnIds,
    pending: &mut Pending,
) {
    if pending.is_empty() {
        return;
    }
    let message = pending.message();
    let batch = pending.buffer.take_report();
    let steps = pending.steps.take_updates();
    send_progress(
        session,
        to_proto::progress_report(token, run_id, ids, &message, batch, &steps),
    )
    .await;
}
