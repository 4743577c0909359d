//! The answers folder for clients that cannot show streamed progress: one
//! markdown file per answer, in a per-workspace folder under the user's
//! cache directory, outside the workspace tree so it never dirties it.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

/// `$XDG_CACHE_HOME/codex-ls/answers` (else `~/.cache/...`, else the temp dir).
pub fn root() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("codex-ls").join("answers")
}

/// The folder for this workspace: its name plus a hash of its path.
pub fn folder_for(workspace_folders: &[PathBuf]) -> PathBuf {
    let workspace = workspace_folders
        .first()
        .map(PathBuf::as_path)
        .unwrap_or(Path::new("no-workspace"));
    let mut hasher = DefaultHasher::new();
    workspace.hash(&mut hasher);
    let name = workspace
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workspace".to_string());
    root().join(format!("{name}-{:016x}", hasher.finish()))
}

/// Writes one answer and returns its path.
pub fn write(
    workspace_folders: &[PathBuf],
    turn_id: &str,
    markdown: &str,
) -> std::io::Result<PathBuf> {
    let folder = folder_for(workspace_folders);
    std::fs::create_dir_all(&folder)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let safe_turn: String = turn_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    let path = folder.join(format!("{stamp}-{safe_turn}.md"));
    std::fs::write(&path, markdown)?;
    Ok(path)
}
