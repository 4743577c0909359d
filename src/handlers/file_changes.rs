//! Files the agent changed (sandbox `workspace-write`) that are open in the
//! editor. The agent wrote the file on disk; the buffer must show its change
//! without losing the user's unsaved edits. So the change's diff (from the
//! completed `fileChange` item) is applied to the buffer as it is now with
//! `workspace/applyEdit`, on the version the server has. A buffer that
//! already equals the file on disk (the editor reloaded it) needs nothing.
//! If the diff does not apply cleanly, the buffer is left alone and a
//! `merge-conflict` diagnostic says what happened.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tower_lsp_server::ls_types::{
    self as lsp, DocumentChanges, NumberOrString, OneOf, OptionalVersionedTextDocumentIdentifier,
    TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use crate::document::{self, DocumentSnapshot};
use crate::lsp::to_proto;
use crate::prompt::error::codes;
use crate::prompt::file_change::{FileChangeItem, FileUpdateChange};
use crate::session::Session;

use super::diagnostics;

const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Follows the run's file changes in order, on a task of its own so that
/// reading files and waiting on the editor never hold up the progress
/// stream. Before the agent writes (a proposed change), the open files it
/// touches are read: the text its diff was made against, which lets the
/// merge place each hunk exactly instead of by searching the buffer. Once
/// the change is applied on disk, it is merged into those buffers.
pub async fn follow(
    session: Arc<Session>,
    cwd: PathBuf,
    run_id: u64,
    mut changes: mpsc::UnboundedReceiver<FileChangeEvent>,
) {
    let mut bases: HashMap<PathBuf, String> = HashMap::new();
    while let Some(event) = changes.recv().await {
        match event {
            FileChangeEvent::Proposed(item) => {
                for change in item.changes {
                    let path = cwd.join(&change.path);
                    let open = Uri::from_file_path(&path)
                        .is_some_and(|uri| session.documents.contains(uri.as_str()));
                    if open && let Ok(text) = tokio::fs::read_to_string(&path).await {
                        bases.insert(path, text);
                    }
                }
            }
            FileChangeEvent::Applied(item) => {
                apply(&session, item, &cwd, run_id, &mut bases).await;
            }
        }
    }
}

/// A change the agent proposed, or applied on disk.
pub enum FileChangeEvent {
    Proposed(FileChangeItem),
    Applied(FileChangeItem),
}

/// Applies a completed `fileChange` item to the open buffers it touches.
/// `cwd` resolves relative paths.
async fn apply(
    session: &Session,
    item: FileChangeItem,
    cwd: &Path,
    run_id: u64,
    bases: &mut HashMap<PathBuf, String>,
) {
    for change in item.changes {
        let path = cwd.join(&change.path);
        let Some(uri) = Uri::from_file_path(&path) else {
            continue;
        };
        let Some(buffer) = session.documents.snapshot(uri.as_str()) else {
            continue; // not open: the editor reads the file when it opens it
        };
        if matches_disk(&buffer, &path).await {
            continue; // the editor already shows the agent's version
        }
        let base = bases.remove(&path);
        let shown_path = change.path.clone();
        if let Err(problem) = merge(session, &uri, &buffer, change, base).await {
            // The editor may have reloaded the file meanwhile.
            let reloaded = match session.documents.snapshot(uri.as_str()) {
                Some(now) => matches_disk(&now, &path).await,
                None => false,
            };
            if !reloaded {
                conflict(session, &uri, run_id, &buffer, &shown_path, &problem).await;
            }
        }
    }
}

async fn matches_disk(buffer: &DocumentSnapshot, path: &Path) -> bool {
    tokio::fs::read(path)
        .await
        .is_ok_and(|bytes| bytes == buffer.contents().as_bytes())
}

/// Applies one file's change to its buffer; the error says why it could not.
async fn merge(
    session: &Session,
    uri: &Uri,
    buffer: &DocumentSnapshot,
    change: FileUpdateChange,
    base: Option<String>,
) -> Result<(), String> {
    // The merge's line diff is CPU work that grows with the file: off the
    // runtime's workers.
    let text = buffer.contents();
    let replacements = tokio::task::spawn_blocking(move || {
        change
            .merge_into_buffer(base.as_deref(), &text)
            .map_err(|err| err.to_string())
    })
    .await
    .map_err(|err| format!("the merge failed: {err}"))??;
    let encoding = session.encoding();
    let edits: Vec<OneOf<TextEdit, lsp::AnnotatedTextEdit>> = replacements
        .iter()
        .map(|replacement| {
            let start = buffer.text.byte_to_char(replacement.range.start);
            let end = buffer.text.byte_to_char(replacement.range.end);
            let range = document::Range::new(
                document::position(&buffer.text, start, encoding),
                document::position(&buffer.text, end, encoding),
            );
            OneOf::Left(TextEdit {
                range: to_proto::range(range),
                new_text: replacement.new_text.clone(),
            })
        })
        .collect();
    if edits.is_empty() {
        return Ok(());
    }
    if !session.support().apply_edit {
        return Err("the editor cannot apply edits (no workspace/applyEdit support)".into());
    }
    let edit = if session.support().document_changes {
        WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri: uri.clone(),
                    version: Some(buffer.version),
                },
                edits,
            }])),
            ..Default::default()
        }
    } else {
        let plain = edits
            .into_iter()
            .filter_map(|edit| match edit {
                OneOf::Left(edit) => Some(edit),
                OneOf::Right(_) => None,
            })
            .collect();
        WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), plain)])),
            ..Default::default()
        }
    };
    match tokio::time::timeout(APPLY_TIMEOUT, session.client.apply_edit(edit)).await {
        Ok(Ok(response)) if response.applied => Ok(()),
        Ok(Ok(response)) => Err(response
            .failure_reason
            .unwrap_or_else(|| "the editor did not apply the change".into())),
        Ok(Err(err)) => Err(format!("workspace/applyEdit failed: {err}")),
        Err(_) => Err("the editor did not answer workspace/applyEdit".into()),
    }
}

async fn conflict(
    session: &Session,
    uri: &Uri,
    run_id: u64,
    buffer: &DocumentSnapshot,
    path: &str,
    problem: &str,
) {
    let range = document::lines_range(&buffer.text, 0, 0, session.encoding());
    let diagnostic = lsp::Diagnostic {
        range: to_proto::range(range),
        severity: Some(lsp::DiagnosticSeverity::WARNING),
        code: Some(NumberOrString::String(codes::MERGE_CONFLICT.to_string())),
        source: Some(to_proto::DIAGNOSTIC_SOURCE.to_string()),
        message: format!(
            "Codex changed {path} on disk, but its change does not apply to your unsaved edits ({problem}); your buffer was left as it is. Compare with the file on disk before saving."
        ),
        ..Default::default()
    };
    diagnostics::publish_failure(session, uri, run_id, diagnostic).await;
}
