//! The conversation commands: `codex.conversation` (a conversation's
//! history, read from Codex), `codex.conversations` (the earlier ones of a
//! folder), `codex.openConversation` (bind a document or workspace to one),
//! `codex.steer` (more input for a running turn), `codex.fork` and
//! `codex.undoLast`. Codex keeps the threads; these only ask it, so what
//! they show survives an editor reload and a codex-ls restart.

use std::path::PathBuf;
use std::sync::Arc;

use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};

use crate::lsp::{ext, from_proto, to_proto};
use crate::prompt::threads::{self, ThreadError};
use crate::prompt::{Conversation, ConversationKey};
use crate::session::Session;

/// How many earlier conversations `codex.conversations` lists.
const LISTED: u32 = 30;

/// LSP's `RequestFailed`: the request was valid, the app-server failed it.
const REQUEST_FAILED: i64 = -32803;

pub async fn conversation(
    session: &Arc<Session>,
    args: ext::ConversationArgs,
) -> Result<Option<ext::ConversationView>> {
    let (thread_id, root) = match args.thread_id {
        Some(thread_id) => (thread_id, first_folder(session)),
        None => {
            let key = key_for(session, args.text_document.as_ref(), args.scope)?;
            let Some(thread_id) = session.conversations.thread_of(&key) else {
                return Ok(None);
            };
            (thread_id, folder_of(session, &key))
        }
    };
    let history = threads::read(&session.supervisor, &codex_path(session), &thread_id, &root)
        .await
        .map_err(failed)?;
    Ok(Some(to_proto::conversation(&history)))
}

pub async fn list(
    session: &Arc<Session>,
    args: ext::ConversationsArgs,
) -> Result<ext::ConversationList> {
    let folder = match args.folder {
        Some(folder) => folder_path(&folder),
        None => first_folder(session),
    };
    let listed = threads::list(&session.supervisor, &codex_path(session), &folder, LISTED)
        .await
        .map_err(failed)?;
    Ok(ext::ConversationList {
        conversations: listed.iter().map(to_proto::conversation_entry).collect(),
    })
}

pub fn open(
    session: &Arc<Session>,
    args: ext::OpenConversationArgs,
) -> Result<ext::ConversationOpened> {
    let key = key_for(session, args.text_document.as_ref(), args.scope)?;
    if session.conversations.is_busy(&key) {
        return Err(busy("open another conversation here"));
    }
    session.conversations.open(&key, &args.thread_id);
    Ok(ext::ConversationOpened {
        thread_id: args.thread_id,
    })
}

pub async fn steer(session: &Arc<Session>, args: ext::SteerArgs) -> Result<ext::Steered> {
    let Some(turn) = session.runs.turn(args.run_id) else {
        let why = if session.runs.contains(args.run_id) {
            format!(
                "run {} has not started its turn yet; try again",
                args.run_id
            )
        } else {
            format!("no run {} is going", args.run_id)
        };
        return Err(Error::invalid_params(why));
    };
    let turn_id = threads::steer(
        &session.supervisor,
        &codex_path(session),
        &turn.thread_id,
        &turn.turn_id,
        &args.prompt,
    )
    .await
    .map_err(failed)?;
    Ok(ext::Steered {
        run_id: args.run_id,
        turn_id,
    })
}

pub async fn fork(session: &Arc<Session>, args: ext::ForkArgs) -> Result<ext::Forked> {
    let thread_id = threads::fork(
        &session.supervisor,
        &codex_path(session),
        &args.thread_id,
        args.turn_id,
    )
    .await
    .map_err(failed)?;
    Ok(ext::Forked {
        thread_id,
        forked_from_id: args.thread_id,
    })
}

pub async fn undo_last(session: &Arc<Session>, args: ext::UndoLastArgs) -> Result<ext::Undone> {
    let running = session
        .conversations
        .list()
        .into_iter()
        .any(|(key, binding)| {
            binding.thread_id == args.thread_id && session.conversations.is_busy(&key)
        });
    if running {
        return Err(busy("undo its last exchange"));
    }
    let turn_id = threads::undo_last(&session.supervisor, &codex_path(session), &args.thread_id)
        .await
        .map_err(failed)?;
    Ok(ext::Undone {
        thread_id: args.thread_id,
        turn_id,
    })
}

fn codex_path(session: &Session) -> String {
    session.config().codex_path
}

/// The conversation of the document (in `scope`), or of the first
/// workspace folder for `scope: workspace` without a document.
fn key_for(
    session: &Session,
    document: Option<&ext::TextDocumentRef>,
    scope: ext::Scope,
) -> Result<ConversationKey> {
    match (document, scope) {
        (Some(document), scope) => Ok(Conversation::new(
            from_proto::scope(scope),
            document.uri.as_str(),
            from_proto::file_path(&document.uri).as_deref(),
            &session.workspace_folders(),
        )
        .key),
        (None, ext::Scope::Workspace) => {
            let folders = session.workspace_folders();
            let folder = folders
                .first()
                .ok_or_else(|| Error::invalid_params("no workspace folder: pass textDocument"))?;
            Ok(ConversationKey::Workspace(folder.clone()))
        }
        (None, ext::Scope::Document) => Err(Error::invalid_params(
            "pass textDocument, threadId, or scope \"workspace\"",
        )),
    }
}

/// Where a conversation's file paths are shown from.
fn folder_of(session: &Session, key: &ConversationKey) -> PathBuf {
    match key {
        ConversationKey::Workspace(folder) => folder.clone(),
        ConversationKey::Document(uri) => uri
            .parse()
            .ok()
            .and_then(|uri| from_proto::file_path(&uri))
            .map(|path| {
                crate::prompt::context::working_dir(Some(&path), &session.workspace_folders())
            })
            .unwrap_or_else(|| first_folder(session)),
    }
}

fn first_folder(session: &Session) -> PathBuf {
    crate::prompt::context::working_dir(None, &session.workspace_folders())
}

/// A folder given as a path or a `file:` URI.
fn folder_path(folder: &str) -> PathBuf {
    folder
        .parse()
        .ok()
        .filter(|_| folder.starts_with("file:"))
        .and_then(|uri| from_proto::file_path(&uri))
        .unwrap_or_else(|| PathBuf::from(folder))
}

fn failed(err: ThreadError) -> Error {
    match err {
        ThreadError::NothingToUndo => Error::invalid_params(err.to_string()),
        ThreadError::Backend(_) | ThreadError::Rpc { .. } => Error {
            code: ErrorCode::ServerError(REQUEST_FAILED),
            message: err.to_string().into(),
            data: None,
        },
    }
}

fn busy(what: &str) -> Error {
    Error {
        code: ErrorCode::InvalidRequest,
        message: format!(
            "Codex is busy: a run is still going on this conversation; \
             cancel it (codex.cancel) before you {what}"
        )
        .into(),
        data: serde_json::to_value(ext::BusyData {
            busy: true,
            run_ids: Vec::new(),
        })
        .ok(),
    }
}
