//! The `codex app-server` child process, and the guarantee that it leaves
//! nothing behind. Codex starts helpers (a login shell among them) in sessions
//! of their own, so killing the app-server's process group is not enough:
//! codex-ls makes itself a child subreaper, so orphaned descendants are
//! reparented to it, and on shutdown kills and reaps its whole tree.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::watch;

use super::error::BackendError;
use super::lines;

/// A running app-server process. A task of its own waits on it, so its end
/// is seen the moment it happens: a helper that still holds its stdout open
/// must not hide a crash.
pub struct AppServerProcess {
    pid: Option<u32>,
    exit: ProcessExit,
}

/// How the app-server process ended, once it has; cheap to clone.
#[derive(Clone)]
pub struct ProcessExit(watch::Receiver<Option<String>>);

impl ProcessExit {
    /// Resolves when the process has exited, with how it ended (e.g. "exit
    /// status: 1", "signal: 9 (SIGKILL)").
    pub async fn wait(&mut self) -> String {
        match self.0.wait_for(Option::is_some).await {
            Ok(ended) => ended.clone().unwrap_or_default(),
            // The waiting task is gone only when the runtime shuts down.
            Err(_) => "codex-ls stopped watching it".to_string(),
        }
    }

    /// How it ended, if it has.
    pub fn ended(&self) -> Option<String> {
        self.0.borrow().clone()
    }
}

impl AppServerProcess {
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn exit(&self) -> ProcessExit {
        self.exit.clone()
    }

    /// Kills the app-server and every process descended from it, and reaps
    /// them, within `deadline`.
    /// Processes in the subtrees of `keep` (a newer app-server) are spared.
    pub async fn terminate(self, deadline: Duration, keep: Vec<u32>) {
        if let Some(pid) = self.pid {
            kill_group(pid);
            if self.exit.ended().is_none() {
                kill_process(pid);
            }
        }
        let mut exit = self.exit;
        let _ = tokio::time::timeout(deadline, exit.wait()).await;
        let remaining = deadline.saturating_sub(Duration::from_millis(10));
        tokio::task::spawn_blocking(move || kill_and_reap_descendants(remaining, &keep))
            .await
            .ok();
    }
}

/// Waits on the child from a task of its own and publishes how it ended.
/// The task owns the child: if the runtime goes away first, dropping it
/// kills the process (`kill_on_drop`).
fn watch_exit(mut child: Child) -> ProcessExit {
    let (ended, exit) = watch::channel(None);
    let pid = child.id();
    tokio::spawn(async move {
        let how = match child.wait().await {
            Ok(status) => status.to_string(),
            Err(err) => format!("could not wait for it: {err}"),
        };
        super::reaper::forget_app_server(pid);
        let _ = ended.send(Some(how));
    });
    ProcessExit(exit)
}

/// Makes this process the reaper of its orphaned descendants (Linux), so
/// helpers that codex detaches into new sessions stay in our tree.
pub fn become_subreaper() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers and
    // touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Resolves `codex_path` (a path, or a name looked up on PATH).
pub fn resolve_binary(codex_path: &str) -> Result<PathBuf, BackendError> {
    let candidate = Path::new(codex_path);
    if candidate.components().count() > 1 {
        return if candidate.is_file() {
            Ok(candidate.to_path_buf())
        } else {
            Err(BackendError::NotFound {
                path: codex_path.to_string(),
            })
        };
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .map(|dir| dir.join(codex_path))
        .find(|full| full.is_file())
        .ok_or_else(|| BackendError::NotFound {
            path: format!("`{codex_path}` on PATH"),
        })
}

/// Spawns `codex app-server` with piped stdio; its stderr goes to our log.
pub fn spawn(
    codex_path: &str,
) -> Result<(AppServerProcess, ChildStdout, ChildStdin), BackendError> {
    let binary = resolve_binary(codex_path)?;
    let mut command = Command::new(&binary);
    command
        .arg("app-server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    #[cfg(target_os = "linux")]
    // SAFETY: only async-signal-safe calls between fork and exec: prctl asks
    // the kernel to kill the app-server if codex-ls dies without cleaning up.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    // Spawned and registered as one step, away from the orphan reaper.
    let mut child =
        super::reaper::while_spawning(|| command.spawn(), |child| child.id()).map_err(|err| {
            BackendError::SpawnFailed {
                path: binary.display().to_string(),
                reason: err.to_string(),
            }
        })?;
    let missing = |what: &str| BackendError::SpawnFailed {
        path: binary.display().to_string(),
        reason: format!("no {what} pipe"),
    };
    let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
    let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(lines::drain_stderr(stderr));
    }
    let pid = child.id();
    tracing::info!("started {} app-server (pid {pid:?})", binary.display());
    let exit = watch_exit(child);
    Ok((AppServerProcess { pid, exit }, stdout, stdin))
}

fn kill_group(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill takes plain integers; a stale group id only yields ESRCH.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}

fn kill_process(pid: u32) {
    if let Ok(pid) = i32::try_from(pid) {
        // SAFETY: kill takes plain integers. The caller checked that the
        // watcher has not reaped the child, so the pid is still ours.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Kills every descendant of this process and reaps the ones reparented to
/// us, until none is left or `deadline` passes, sparing the subtrees rooted at
/// `keep`. codex-ls's only children are app-servers, so all of its
/// descendants belong to Codex.
pub fn kill_and_reap_descendants(deadline: Duration, keep: &[u32]) {
    let start = Instant::now();
    let me = std::process::id();
    loop {
        let table = process_table();
        let descendants = descendants_of(me, &table, keep);
        for (pid, _) in &descendants {
            // SAFETY: kill takes plain integers.
            unsafe {
                libc::kill(*pid as i32, libc::SIGKILL);
            }
        }
        for (pid, parent) in &descendants {
            if *parent == me {
                let mut status = 0;
                // SAFETY: waitpid on our own child with WNOHANG never blocks.
                unsafe {
                    libc::waitpid(*pid as i32, &mut status, libc::WNOHANG);
                }
            }
        }
        if descendants.is_empty() || start.elapsed() >= deadline {
            if !descendants.is_empty() {
                tracing::warn!("{} codex processes outlived shutdown", descendants.len());
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// pid → parent pid of every process, read from /proc.
fn process_table() -> HashMap<u32, u32> {
    super::process_table::read()
        .into_iter()
        .map(|process| (process.pid, process.parent))
        .collect()
}

/// Every (pid, parent) below `root` in the process tree.
fn descendants_of(root: u32, table: &HashMap<u32, u32>, keep: &[u32]) -> Vec<(u32, u32)> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, parent) in table {
        children.entry(*parent).or_default().push(*pid);
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for child in children.get(&pid).into_iter().flatten() {
            if keep.contains(child) {
                continue;
            }
            found.push((*child, pid));
            stack.push(*child);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_cover_grandchildren() {
        let table = HashMap::from([(2, 1), (3, 2), (4, 3), (5, 9)]);
        let mut found = descendants_of(1, &table, &[]);
        found.sort();
        assert_eq!(found, vec![(2, 1), (3, 2), (4, 3)]);
        assert_eq!(descendants_of(1, &table, &[3]), vec![(2, 1)]);
    }

    #[test]
    fn a_missing_binary_is_not_found() {
        assert!(matches!(
            resolve_binary("/nonexistent/codex"),
            Err(BackendError::NotFound { .. })
        ));
        assert!(matches!(
            resolve_binary("codex-ls-surely-not-on-path"),
            Err(BackendError::NotFound { .. })
        ));
    }
}
