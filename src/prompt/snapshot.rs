//! Snapshot files: unsaved buffers and selections written where the model
//! can read them. Each run gets a private directory (0700, files 0600) that
//! is removed when the run ends, whatever the outcome (also on drop). The
//! directory's name carries the pid of its codex-ls, so directories left by
//! a codex-ls that crashed are found and removed at the next start.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

const PREFIX: &str = "codex-ls-run-";

/// Removes snapshot directories under `temp_dir` whose codex-ls is no longer
/// running (it crashed before it could clean up). Only directories owned by
/// this user are touched. Returns how many were removed.
pub fn remove_stale(temp_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let owned_dir = entry
            .metadata()
            .is_ok_and(|meta| meta.is_dir() && owned_by_me(&meta));
        if owned_dir && !process_exists(pid) && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

#[cfg(unix)]
fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: getuid has no preconditions and cannot fail.
    meta.uid() == unsafe { libc::getuid() }
}

#[cfg(not(unix))]
fn owned_by_me(_meta: &std::fs::Metadata) -> bool {
    true
}

fn process_exists(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// A run's private snapshot directory.
pub struct SnapshotDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl SnapshotDir {
    /// Creates a fresh private directory under the system temp dir.
    pub fn create() -> std::io::Result<SnapshotDir> {
        let prefix = format!("{PREFIX}{}-", std::process::id());
        let dir = tempfile::Builder::new().prefix(&prefix).tempdir()?;
        // tempfile creates directories 0700 already; say so explicitly.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
        }
        let path = dir.path().to_path_buf();
        Ok(SnapshotDir {
            dir: Some(dir),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `relative` inside the directory (0600) and returns
    /// the absolute path. Components that would leave the directory are
    /// dropped.
    pub fn write(&self, relative: &Path, text: &str) -> std::io::Result<PathBuf> {
        let clean: PathBuf = relative
            .components()
            .filter(|component| matches!(component, Component::Normal(_)))
            .collect();
        let target = self.path.join(if clean.as_os_str().is_empty() {
            Path::new("buffer")
        } else {
            &clean
        });
        if let Some(parent) = target.parent() {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            // Directories inside are as private as the run's directory.
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder.create(parent)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&target)?;
        file.write_all(text.as_bytes())?;
        Ok(target)
    }

    /// Removes the directory now (drop does the same, silently).
    pub fn remove(mut self) -> std::io::Result<()> {
        match self.dir.take() {
            Some(dir) => dir.close(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_are_private_and_removed() {
        let dir = SnapshotDir::create().unwrap();
        let path = dir.write(Path::new("../../src/lib.rs"), "unsaved").unwrap();
        assert!(path.starts_with(dir.path()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "unsaved");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(dir.path()), 0o700);
            assert_eq!(mode(&dir.path().join("src")), 0o700);
            assert_eq!(mode(&path), 0o600);
        }
        let root = dir.path().to_path_buf();
        dir.remove().unwrap();
        assert!(!root.exists());
    }

    #[test]
    fn stale_directories_of_dead_processes_are_removed() {
        let temp = tempfile::tempdir().unwrap();
        let dead = temp.path().join(format!("{PREFIX}{}-abc", u32::MAX - 1));
        let alive = temp
            .path()
            .join(format!("{PREFIX}{}-def", std::process::id()));
        let unrelated = temp.path().join("codex-ls-other");
        for dir in [&dead, &alive, &unrelated] {
            std::fs::create_dir_all(dir.join("buffer")).unwrap();
        }
        assert_eq!(remove_stale(temp.path()), 1);
        assert!(!dead.exists());
        assert!(alive.exists() && unrelated.exists());
        let ours = SnapshotDir::create().unwrap();
        let name = ours
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with(&format!("{PREFIX}{}-", std::process::id())),
            "{name}"
        );
    }

    #[test]
    fn drop_removes_the_directory() {
        let dir = SnapshotDir::create().unwrap();
        let root = dir.path().to_path_buf();
        dir.write(Path::new("a.txt"), "x").unwrap();
        drop(dir);
        assert!(!root.exists());
    }
}
