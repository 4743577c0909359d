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

/// Coalesces the run's deltas into at most one report per `interval`,
/// losslessly and in order. A delta after a quiet spell goes out at once;
/// the rest wait for the window to pass. Without a `token` nothing streams:
/// the deltas are taken and dropped. Notices and file changes go their own
/// ways.
pub(super) async fn report_loop(
    session: Arc<Session>,
    token: Option<ProgressToken>,
    run_id: u64,
    form: StreamedForm,
    interval: Duration,
    cwd: PathBuf,
    mut events: mpsc::UnboundedReceiver<RunEvent>,
) {
    let mut buffer = ReportBuffer::new(form);
    let mut ids = TurnIds::default();
    let mut last_sent: Option<Instant> = None;
    // File changes go to a follower of their own, in order; it ends when
    // this loop does and its queue is done.
    let (file_changes, changes) = mpsc::unbounded_channel();
    tokio::spawn(file_changes::follow(session.clone(), cwd, run_id, changes));
    loop {
        let due = (!buffer.is_empty())
            .then(|| last_sent.map_or_else(Instant::now, |sent| sent + interval));
        tokio::select! {
            event = events.recv() => match event {
                Some(RunEvent::Started { thread_id, turn_id }) => {
                    ids = TurnIds { thread_id: Some(thread_id), turn_id: Some(turn_id) };
                }
                Some(RunEvent::Delta(delta)) => buffer.push(&delta),
                Some(RunEvent::Notice(notice)) => {
                    session.client.show_message(MessageType::INFO, notice).await;
                }
                Some(RunEvent::FileChangeProposed(item)) => {
                    let _ = file_changes.send(FileChangeEvent::Proposed(item));
                }
                Some(RunEvent::FileChanged(item)) => {
                    let _ = file_changes.send(FileChangeEvent::Applied(item));
                }
                None => break,
            },
            () = sleep_until_due(due) => {
                if let Some(token) = &token {
                    send_report(&session, token, run_id, &ids, &mut buffer).await;
                } else {
                    buffer.take();
                }
                last_sent = Some(Instant::now());
            }
        }
    }
    if let Some(token) = &token
        && !buffer.is_empty()
    {
        if let Some(sent) = last_sent {
            tokio::time::sleep_until(sent + interval).await;
        }
        send_report(&session, token, run_id, &ids, &mut buffer).await;
    }
}

/// Waits for the next report to be due; forever while nothing waits.
async fn sleep_until_due(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// Sends what has gathered in `buffer` as one `report`, if anything has.
async fn send_report(
    session: &Session,
    token: &ProgressToken,
    run_id: u64,
    ids: &TurnIds,
    buffer: &mut ReportBuffer,
) {
    let message = buffer.message();
    let Some(batch) = buffer.take() else { return };
    send_progress(
        session,
        to_proto::progress_report(token, run_id, ids, &message, batch),
    )
    .await;
}
