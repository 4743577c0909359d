//! Conversation management on Codex for the editor's commands: read a
//! thread's history, list a folder's threads, fork, undo the last exchange
//! and steer a running turn. Codex keeps the threads; these only ask the
//! live app-server (starting it if needed). Knows nothing of LSP.

use std::path::Path;
use std::sync::Arc;

use crate::codex::threads::{
    ThreadForkParams, ThreadListParams, ThreadReadParams, ThreadRecord, ThreadRevertParams,
    ThreadSortKey, TurnSteerParams,
};
use crate::codex::{AppServer, BackendError, RpcError, Supervisor};

use super::history::{self, History, ThreadSummary};
use super::input::build_input;

/// Why a conversation request failed.
#[derive(Debug, thiserror::Error)]
pub enum ThreadError {
    #[error("Codex is not available: {0}")]
    Backend(#[from] BackendError),
    #[error("Codex could not {what}: {source}")]
    Rpc {
        what: &'static str,
        #[source]
        source: RpcError,
    },
    #[error("the conversation has no exchange to undo")]
    NothingToUndo,
}

fn failed(what: &'static str) -> impl FnOnce(RpcError) -> ThreadError {
    move |source| ThreadError::Rpc { what, source }
}

/// The thread with its turns (`thread/read`).
async fn read_with_turns(server: &AppServer, thread_id: &str) -> Result<ThreadRecord, ThreadError> {
    server
        .thread_read(&ThreadReadParams {
            thread_id: thread_id.to_string(),
            include_turns: true,
        })
        .await
        .map(|read| read.thread)
        .map_err(failed("read the conversation"))
}

async fn connect(supervisor: &Supervisor, codex_path: &str) -> Result<Arc<AppServer>, ThreadError> {
    Ok(supervisor.connect(codex_path).await?)
}

/// The thread's history; file paths in steps relative to `root`.
pub async fn read(
    supervisor: &Supervisor,
    codex_path: &str,
    thread_id: &str,
    root: &Path,
) -> Result<History, ThreadError> {
    let server = connect(supervisor, codex_path).await?;
    let thread = read_with_turns(&server, thread_id).await?;
    Ok(history::history(&thread, root))
}

/// The threads whose session ran in `folder`, most recently updated first,
/// at most `limit`, each with its turn count (`thread/list` gives none:
/// each thread is read, all at once).
pub async fn list(
    supervisor: &Supervisor,
    codex_path: &str,
    folder: &Path,
    limit: u32,
) -> Result<Vec<ThreadSummary>, ThreadError> {
    let server = connect(supervisor, codex_path).await?;
    let listed = server
        .thread_list(&ThreadListParams {
            cwd: Some(folder.to_string_lossy().into_owned()),
            limit: Some(limit),
            sort_key: Some(ThreadSortKey::UpdatedAt),
        })
        .await
        .map_err(failed("list the conversations"))?;
    let counts = futures::future::join_all(listed.data.iter().map(|thread| {
        let server = server.clone();
        let thread_id = thread.id.clone();
        async move {
            server
                .thread_read(&ThreadReadParams {
                    thread_id,
                    include_turns: true,
                })
                .await
                .map(|read| read.thread.turns.len())
                .unwrap_or(0)
        }
    }))
    .await;
    Ok(listed
        .data
        .iter()
        .zip(counts)
        .map(|(thread, turns)| history::summary(thread, turns))
        .collect())
}

/// A new thread with `thread_id`'s history through `turn_id` (all of it
/// without); returns the new thread's id.
pub async fn fork(
    supervisor: &Supervisor,
    codex_path: &str,
    thread_id: &str,
    turn_id: Option<String>,
) -> Result<String, ThreadError> {
    let server = connect(supervisor, codex_path).await?;
    let forked = server
        .thread_fork(&ThreadForkParams {
            thread_id: thread_id.to_string(),
            last_turn_id: turn_id,
            cwd: None,
            sandbox: None,
            approval_policy: None,
            exclude_turns: true,
        })
        .await
        .map_err(failed("fork the conversation"))?;
    Ok(forked.thread.id)
}

/// Drops the thread's last turn from its history (not the files it
/// changed); returns the turn's id.
pub async fn undo_last(
    supervisor: &Supervisor,
    codex_path: &str,
    thread_id: &str,
) -> Result<String, ThreadError> {
    let server = connect(supervisor, codex_path).await?;
    let thread = read_with_turns(&server, thread_id).await?;
    let last = thread.turns.last().ok_or(ThreadError::NothingToUndo)?;
    server
        .thread_revert(&ThreadRevertParams {
            thread_id: thread_id.to_string(),
            before_turn_id: last.id.clone(),
        })
        .await
        .map_err(failed("undo the last exchange"))?;
    Ok(last.id.clone())
}

/// Adds `prompt` to the running turn `turn_id` of `thread_id`; returns the
/// turn's id as codex gives it back.
pub async fn steer(
    supervisor: &Supervisor,
    codex_path: &str,
    thread_id: &str,
    turn_id: &str,
    prompt: &str,
) -> Result<String, ThreadError> {
    let server = connect(supervisor, codex_path).await?;
    let steered = server
        .turn_steer(&TurnSteerParams {
            thread_id: thread_id.to_string(),
            expected_turn_id: turn_id.to_string(),
            input: build_input(prompt, &[]),
        })
        .await
        .map_err(failed("steer the run"))?;
    Ok(steered.turn_id)
}
