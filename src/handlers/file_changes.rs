//! Files the agent changed (sandbox `workspace-write`) that are open in the
//! editor. The agent wrote the file on disk; the buffer must show its change
//! without losing the user's unsaved edits. So the change's diff (from the
//! completed `fileChange` item) is applied to the buffer as it is now with
//! `workspace/applyEdit`, on the version the server has. A buffer that
//! already equals the file on disk (the editor reloaded it) needs nothing.
//! If the diff does not apply cleanly, the buffer is left alone and a
//! `merge-conflict` diagnostic says what happened.
//!
//! The agent controls what is on disk, so reading it is bounded: only
//! regular files are read (opening a FIFO would block a thread until some
//! writer came), none larger than [`MAX_MIRRORED_FILE_BYTES`], and no read
//! may take longer than [`DISK_READ_TIMEOUT`]. A change to a file that is
//! not read this way is not mirrored, and its diagnostic says why.

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use tokio::sync::mpsc;
use tower_lsp_server::ls_types::{TextEdit, Uri};

use crate::document::{self, DocumentSnapshot};
use crate::lsp::to_proto;
use crate::prompt::error::codes;
use crate::prompt::file_change::{FileChangeItem, FileUpdateChange};
use crate::session::Session;

use super::diagnostics;

const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// The largest file whose text on disk is read to mirror an agent's change
/// into its buffer (16 MiB): larger than any source file an editor keeps in
/// a buffer with comfort, small enough that a planted sparse file costs
/// nothing.
pub const MAX_MIRRORED_FILE_BYTES: u64 = 16 << 20;

/// How long reading one file may take (a slow or hung file system).
pub const DISK_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a file on disk was not read.
#[derive(Debug, Error)]
enum DiskReadError {
    #[error("it is larger than {} MiB ({size} bytes)", MAX_MIRRORED_FILE_BYTES >> 20)]
    TooLarge { size: u64 },
    #[error("it is not a regular file")]
    NotRegular,
    #[error("reading it took longer than {} s", DISK_READ_TIMEOUT.as_secs())]
    TimedOut,
    #[error("reading it failed: {0}")]
    Io(#[from] std::io::Error),
}

impl DiskReadError {
    /// The file is there but must not be read: its change is not mirrored.
    /// (A file that is gone or unreadable is merged from the diff alone.)
    fn refuses_the_change(&self) -> bool {
        !matches!(self, DiskReadError::Io(_))
    }
}

/// Reads the file at `path`, bounded in size and time, on a blocking thread
/// of its own so the run never waits on it. With `expected_len`, a file of
/// another size is not read at all (`None`): it cannot equal the buffer.
async fn read_disk(
    path: &Path,
    expected_len: Option<u64>,
) -> Result<Option<Vec<u8>>, DiskReadError> {
    let path = path.to_path_buf();
    let read = tokio::task::spawn_blocking(move || read_disk_blocking(&path, expected_len));
    match tokio::time::timeout(DISK_READ_TIMEOUT, read).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) => Err(DiskReadError::Io(std::io::Error::other(join.to_string()))),
        Err(_) => Err(DiskReadError::TimedOut),
    }
}

fn read_disk_blocking(
    path: &Path,
    expected_len: Option<u64>,
) -> Result<Option<Vec<u8>>, DiskReadError> {
    // The type is checked before opening (opening some devices has effects)
    // and again on the open file, which may have been swapped meanwhile;
    // O_NONBLOCK keeps the open of a FIFO from waiting for a writer.
    if !std::fs::metadata(path)?.is_file() {
        return Err(DiskReadError::NotRegular);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(DiskReadError::NotRegular);
    }
    let size = meta.len();
    if size > MAX_MIRRORED_FILE_BYTES {
        return Err(DiskReadError::TooLarge { size });
    }
    if expected_len.is_some_and(|expected| expected != size) {
        return Ok(None);
    }
    // The file may grow while it is read: never past the limit.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_MIRRORED_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    let read = bytes.len() as u64;
    if read > MAX_MIRRORED_FILE_BYTES {
        return Err(DiskReadError::TooLarge { size: read });
    }
    Ok(Some(bytes))
}

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
                    if !open {
                        continue;
                    }
                    // Unread (refused or not text), the base is missing and
                    // the merge searches the buffer; a refused file is
                    // reported when the change is applied.
                    match read_disk(&path, None).await {
                        Ok(Some(bytes)) => {
                            if let Ok(text) = String::from_utf8(bytes) {
                                bases.insert(path, text);
                            }
                        }
                        Ok(None) => {}
                        Err(err) => tracing::debug!("base of {} not read: {err}", path.display()),
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
        let base = bases.remove(&path);
        match matches_disk(&buffer, &path).await {
            Ok(true) => continue, // the editor already shows the agent's version
            Ok(false) => {}
            Err(err) => {
                tracing::warn!(
                    "not mirroring the agent's change to {}: {err}",
                    path.display()
                );
                let message = format!(
                    "Codex changed {} on disk, but codex-ls did not read the file ({err}), so your buffer was left as it is. Reload the file to see the change.",
                    change.path
                );
                warn(session, &uri, run_id, &buffer, message).await;
                continue;
            }
        }
        let shown_path = change.path.clone();
        if let Err(problem) = merge(session, &uri, &buffer, change, base).await {
            // The editor may have reloaded the file meanwhile.
            let reloaded = match session.documents.snapshot(uri.as_str()) {
                Some(now) => matches_disk(&now, &path).await.unwrap_or(false),
                None => false,
            };
            if !reloaded {
                let message = format!(
                    "Codex changed {shown_path} on disk, but its change does not apply to your unsaved edits ({problem}); your buffer was left as it is. Compare with the file on disk before saving."
                );
                warn(session, &uri, run_id, &buffer, message).await;
            }
        }
    }
}

/// Whether the file on disk holds the buffer's text; an error only when the
/// file must not be read (see [`DiskReadError::refuses_the_change`]).
async fn matches_disk(buffer: &DocumentSnapshot, path: &Path) -> Result<bool, DiskReadError> {
    let len = buffer.text.len_bytes() as u64;
    match read_disk(path, Some(len)).await {
        Ok(Some(bytes)) => Ok(bytes == buffer.contents().as_bytes()),
        Ok(None) => Ok(false),
        Err(err) if err.refuses_the_change() => Err(err),
        Err(_) => Ok(false),
    }
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
    let edits: Vec<TextEdit> = replacements
        .iter()
        .map(|replacement| {
            let start = buffer.text.byte_to_char(replacement.range.start);
            let end = buffer.text.byte_to_char(replacement.range.end);
            let range = document::Range::new(
                document::position(&buffer.text, start, encoding),
                document::position(&buffer.text, end, encoding),
            );
            to_proto::text_edit(range, replacement.new_text.clone())
        })
        .collect();
    if edits.is_empty() {
        return Ok(());
    }
    if !session.support().apply_edit {
        return Err("the editor cannot apply edits (no workspace/applyEdit support)".into());
    }
    let version = session.support().document_changes.then_some(buffer.version);
    let edit = to_proto::document_edit(uri, version, edits);
    match tokio::time::timeout(APPLY_TIMEOUT, session.client.apply_edit(edit)).await {
        Ok(Ok(response)) if response.applied => Ok(()),
        Ok(Ok(response)) => Err(response
            .failure_reason
            .unwrap_or_else(|| "the editor did not apply the change".into())),
        Ok(Err(err)) => Err(format!("workspace/applyEdit failed: {err}")),
        Err(_) => Err("the editor did not answer workspace/applyEdit".into()),
    }
}

/// A `merge-conflict` warning on the buffer's first line: the agent's change
/// did not reach the buffer, and `message` says why.
async fn warn(
    session: &Session,
    uri: &Uri,
    run_id: u64,
    buffer: &DocumentSnapshot,
    message: String,
) {
    let range = document::lines_range(&buffer.text, 0, 0, session.encoding());
    let diagnostic = to_proto::codex_warning(range, codes::MERGE_CONFLICT, message);
    diagnostics::publish_failure(session, uri, run_id, diagnostic).await;
}
