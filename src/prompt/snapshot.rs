//! Snapshot files: unsaved buffers and selections written where the model
//! can read them. Each run gets a private directory (0700, files 0600) that
//! is removed when the run ends, whatever the outcome (also on drop).
//!
//! Every live directory is also in a process-wide registry, so the exit
//! path can remove them all synchronously ([`remove_all`]) whatever the run
//! tasks are doing at that moment; after that, no new directory is made and
//! no file is written, so a run task that loses the race to the exit leaves
//! nothing behind.
//!
//! Each directory holds a lock file that its codex-ls keeps `flock`ed for
//! the directory's life. A directory whose lock nobody holds was left by a
//! codex-ls that crashed, and the next start removes it ([`remove_stale`]).
//! The lock, not the pid in the name, decides: two codex-ls in different
//! PID namespaces (containers) can share a temp dir, and there a pid says
//! nothing about the other's processes.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

const PREFIX: &str = "codex-ls-run-";
/// The lock file inside each directory, held by its owner.
const LOCK_FILE: &str = ".codex-ls.lock";
/// A directory without a lock file is either being created this instant or
/// left by a codex-ls older than the lock; only the latter is stale, and it
/// is old.
const LOCKLESS_GRACE: Duration = Duration::from_secs(60);

/// The directories of this process that are alive.
struct Registry {
    live: BTreeSet<PathBuf>,
    /// Set by [`remove_all`]: the process is exiting.
    closed: bool,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    live: BTreeSet::new(),
    closed: false,
});

fn registry() -> MutexGuard<'static, Registry> {
    // The registry holds plain paths: a panic elsewhere cannot leave it
    // half-updated, so a poisoned lock is still good.
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes every snapshot directory of this process now, and refuses new
/// ones and new files from here on. The exit path calls it: unsaved text
/// must not outlive codex-ls, and run tasks may still be running (or never
/// run again) when the process ends. Returns how many were removed.
pub fn remove_all() -> usize {
    let mut registry = registry();
    registry.closed = true;
    let mut removed = 0;
    for path in std::mem::take(&mut registry.live) {
        if std::fs::remove_dir_all(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Removes snapshot directories under `temp_dir` that no running codex-ls
/// owns (it crashed before it could clean up): their lock is free. Only
/// directories owned by this user are touched. Returns how many were
/// removed.
pub fn remove_stale(temp_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let is_ours = entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.starts_with(PREFIX));
        // DirEntry::metadata does not follow links: a link planted under
        // our prefix is not a directory of ours.
        let owned_dir = entry
            .metadata()
            .is_ok_and(|meta| meta.is_dir() && owned_by_me(&meta));
        if !is_ours || !owned_dir {
            continue;
        }
        let path = entry.path();
        match File::open(path.join(LOCK_FILE)) {
            Ok(lock) => {
                // Held through the removal, so its owner cannot be mid-way
                // through anything (there is no owner).
                if try_lock(&lock) && std::fs::remove_dir_all(&path).is_ok() {
                    removed += 1;
                }
            }
            Err(_) => {
                let old = entry
                    .metadata()
                    .and_then(|meta| meta.modified())
                    .ok()
                    .and_then(|modified| modified.elapsed().ok())
                    .is_some_and(|age| age > LOCKLESS_GRACE);
                if old && std::fs::remove_dir_all(&path).is_ok() {
                    removed += 1;
                }
            }
        }
    }
    removed
}

/// Takes the exclusive lock on `file` without waiting: false when another
/// open file (in any process, this one included) holds it.
fn try_lock(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock takes a descriptor we own and plain flags.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
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

/// A run's private snapshot directory.
pub struct SnapshotDir {
    path: PathBuf,
    /// Held (flocked) for the directory's life: it says "alive" to every
    /// other codex-ls sharing the temp dir.
    _lock: File,
}

impl SnapshotDir {
    /// Creates a fresh private directory under the system temp dir.
    pub fn create() -> std::io::Result<SnapshotDir> {
        let mut registry = registry();
        if registry.closed {
            return Err(exiting());
        }
        let prefix = format!("{PREFIX}{}-", std::process::id());
        // `keep`: this module removes it (on drop, or on the exit path
        // through the registry).
        let path = tempfile::Builder::new().prefix(&prefix).tempdir()?.keep();
        match make_private(&path).and_then(|()| lock_dir(&path)) {
            Ok(lock) => {
                registry.live.insert(path.clone());
                Ok(SnapshotDir { path, _lock: lock })
            }
            Err(err) => {
                let _ = std::fs::remove_dir_all(&path);
                Err(err)
            }
        }
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
        // Held while writing: the exit path's removal waits for this write,
        // and a write after it must not create the directory anew.
        let registry = registry();
        if !registry.live.contains(&self.path) {
            return Err(exiting());
        }
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
        drop(registry);
        Ok(target)
    }

    /// Removes the directory now (drop does the same, silently).
    pub fn remove(self) -> std::io::Result<()> {
        // Drop then finds it gone and does nothing.
        self.remove_now()
    }

    fn remove_now(&self) -> std::io::Result<()> {
        let mut registry = registry();
        // Already removed by the exit path: nothing of ours is left there.
        if !registry.live.remove(&self.path) {
            return Ok(());
        }
        std::fs::remove_dir_all(&self.path)
    }
}

impl Drop for SnapshotDir {
    fn drop(&mut self) {
        let _ = self.remove_now();
    }
}

/// Whatever the umask, the directory is the user's alone.
fn make_private(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Creates the directory's lock file (0600) and takes its lock.
fn lock_dir(dir: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let lock = options.open(dir.join(LOCK_FILE))?;
    if try_lock(&lock) {
        Ok(lock)
    } else {
        Err(std::io::Error::other(
            "cannot lock a fresh snapshot directory",
        ))
    }
}

fn exiting() -> std::io::Error {
    std::io::Error::other("codex-ls is exiting")
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

    /// A directory of a codex-ls whose pid is not of this namespace (another
    /// container sharing the temp dir) is alive while its lock is held.
    #[test]
    fn stale_cleanup_decides_by_the_owners_lock_not_by_the_pid() {
        let temp = tempfile::tempdir().unwrap();
        let foreign_pid = u32::MAX - 1;
        let make = |suffix: &str| {
            let dir = temp.path().join(format!("{PREFIX}{foreign_pid}-{suffix}"));
            std::fs::create_dir_all(dir.join("buffer")).unwrap();
            std::fs::write(dir.join("buffer/lib.rs"), "unsaved").unwrap();
            let lock = File::create(dir.join(LOCK_FILE)).unwrap();
            (dir, lock)
        };
        let (live, live_lock) = make("live");
        assert!(try_lock(&live_lock), "the other instance holds its lock");
        let (crashed, crashed_lock) = make("crashed");
        drop(crashed_lock);
        let unrelated = temp.path().join("codex-ls-other");
        std::fs::create_dir_all(&unrelated).unwrap();
        assert_eq!(remove_stale(temp.path()), 1);
        assert!(live.exists(), "a live instance's snapshots were deleted");
        assert!(!crashed.exists() && unrelated.exists());
        drop(live_lock);
        assert_eq!(remove_stale(temp.path()), 1);
        assert!(!live.exists());
    }

    #[test]
    fn our_own_directories_are_never_stale_and_fresh_lockless_ones_wait() {
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
        assert!(ours.path().join(LOCK_FILE).exists());
        // A lock this very process holds counts too (flock locks belong to
        // open files, not to processes).
        let temp = tempfile::tempdir().unwrap();
        let held = temp
            .path()
            .join(format!("{PREFIX}{}-held", std::process::id()));
        std::fs::create_dir(&held).unwrap();
        let _lock = lock_dir(&held).unwrap();
        // Made this instant, its lock not yet taken: not stale yet.
        let fresh = temp.path().join(format!("{PREFIX}1-fresh"));
        std::fs::create_dir(&fresh).unwrap();
        assert_eq!(remove_stale(temp.path()), 0);
        assert!(held.exists() && fresh.exists());
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
