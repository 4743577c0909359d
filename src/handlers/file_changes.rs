//! Files the agent changed (sandbox `workspace-write`) that are open in the
//! editor. The agent wrote the file on disk; the buffer must show its change
//! without losing the user's unsaved edits. So the change's diff (from the
//! completed `fileChange` item) is applied to the buffer as it is now with
//! `workspace/applyEdit`, on the version the server has. A buffer that
//! already equals the file on disk (the editor reloaded it) needs nothing.
//! If the diff does not apply cleanly, the buffer is left alone and a
//! `merge-conflict` diagnostic says what happened.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
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

/// The text of open files on disk before the agent changed them, by path:
/// the base the change's diff was made against, which lets the merge place
/// each hunk exactly instead of by searching the buffer.
pub type Bases = HashMap<PathBuf, String>;

/// Reads, for a proposed change (a started `fileChange` item), the files it
/// touches that are open in the editor, before the agent writes them.
pub async fn record_bases(
    session: &Session,
    item: &Value,
    cwd: &std::path::Path,
    bases: &mut Bases,
) {
    let Some(Ok(item)) = FileChangeItem::from_item(item) else {
        return;
    };
    for change in item.changes {
        let path = cwd.join(&change.path);
        let open =
            Uri::from_file_path(&path).is_some_and(|uri| session.documents.contains(uri.as_str()));
        if open && let Ok(text) = tokio::fs::read_to_string(&path).await {
            bases.insert(path, text);
        }
    }
}

/// Applies a completed `fileChange` item to the open buffers it touches.
/// `cwd` resolves relative paths.
pub async fn apply(session: Arc<Session>, item: Value, cwd: PathBuf, bases: Bases) {
    let item: FileChangeItem = match serde_json::from_value(item) {
        Ok(item) => item,
        Err(err) => {
            tracing::warn!("ignoring a malformed fileChange item: {err}");
            return;
        }
    };
    for change in item.changes {
        let path = cwd.join(&change.path);
        let Some(uri) = Uri::from_file_path(&path) else {
            continue;
        };
        let Some(buffer) = session.documents.snapshot(uri.as_str()) else {
            continue; // not open: the editor reads the file when it opens it
        };
        if matches_disk(&buffer, &path) {
            continue; // the editor already shows the agent's version
        }
        let base = bases.get(&path).map(String::as_str);
        if let Err(problem) = merge(&session, &uri, &buffer, &change, base).await {
            // The editor may have reloaded the file meanwhile.
            let reloaded = session
                .documents
                .snapshot(uri.as_str())
                .is_some_and(|now| matches_disk(&now, &path));
            if !reloaded {
                conflict(&session, &uri, &buffer, &change.path, &problem).await;
            }
        }
    }
}

fn matches_disk(buffer: &DocumentSnapshot, path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes == buffer.contents().as_bytes())
}

/// Applies one file's change to its buffer; the error says why it could not.
async fn merge(
    session: &Session,
    uri: &Uri,
    buffer: &DocumentSnapshot,
    change: &FileUpdateChange,
    base: Option<&str>,
) -> Result<(), String> {
    let text = buffer.contents();
    let merged = match base {
        Some(base) => change.merge_into_buffer_with_base(base, &text),
        None => change.merge_into_buffer(&text),
    };
    let replacements = merged.map_err(|err| err.to_string())?;
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
    diagnostics::publish_failure(session, uri, diagnostic).await;
}
