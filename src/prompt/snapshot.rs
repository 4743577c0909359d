//! Snapshot files: unsaved buffers and selections written where the model
//! can read them. Each run gets a private directory (0700, files 0600) that
//! is removed when the run ends, whatever the outcome (also on drop).

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// A run's private snapshot directory.
pub struct SnapshotDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl SnapshotDir {
    /// Creates a fresh private directory under the system temp dir.
    pub fn create() -> std::io::Result<SnapshotDir> {
        let dir = tempfile::Builder::new().prefix("codex-ls-run-").tempdir()?;
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
            std::fs::create_dir_all(parent)?;
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
            assert_eq!(mode(&path), 0o600);
        }
        let root = dir.path().to_path_buf();
        dir.remove().unwrap();
        assert!(!root.exists());
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
