//! Reaps orphans as they exit. codex-ls is a child subreaper (see
//! `process::become_subreaper`), so helpers that Codex detaches into
//! sessions of their own are reparented to it when their parent goes; when
//! they exit, only we can reap them, and until we do they stay zombies.
//!
//! Never `waitpid(-1)`: the app-servers are our children too, and tokio
//! waits for them by pid (their exit status is how a crash is noticed).
//! Reaping one here would steal that status. So the app-servers register
//! their pids, and the reaper takes only zombies that are our direct
//! children and not registered, each by its pid.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

/// The pids of the app-servers we spawned (tokio reaps them).
static APP_SERVERS: Mutex<Option<HashSet<u32>>> = Mutex::new(None);

fn app_servers() -> MutexGuard<'static, Option<HashSet<u32>>> {
    // A set of plain pids cannot be left half-updated by a panic.
    APP_SERVERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `spawn` (a fork and exec) with the registry held, and registers
/// the child's pid (`pid_of`) before letting go: the reaper, which holds
/// the registry while it reaps, never takes a child whose spawn is under
/// way. When exec fails, the standard library reaps that child itself and
/// panics if it was reaped first; when it succeeds, the child is an
/// app-server before the reaper can see it.
pub fn while_spawning<T>(
    spawn: impl FnOnce() -> std::io::Result<T>,
    pid_of: impl FnOnce(&T) -> Option<u32>,
) -> std::io::Result<T> {
    let mut registry = app_servers();
    let child = spawn()?;
    if let Some(pid) = pid_of(&child) {
        registry.get_or_insert_with(HashSet::new).insert(pid);
    }
    Ok(child)
}

/// Forgets an app-server tokio has reaped, so an orphan that later gets
/// its pid is reaped here.
pub fn forget_app_server(pid: Option<u32>) {
    if let (Some(pid), Some(pids)) = (pid, app_servers().as_mut()) {
        pids.remove(&pid);
    }
}

/// Reaps orphans whenever a child of ours changes state (SIGCHLD), until
/// the runtime ends. Also reaps the ones already waiting.
pub fn start() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut children = match signal(SignalKind::child()) {
        Ok(children) => children,
        Err(err) => {
            tracing::warn!("cannot watch for exiting orphans ({err}); they stay zombies");
            return;
        }
    };
    tokio::spawn(async move {
        loop {
            // /proc reads are blocking, if quick.
            let reaped = tokio::task::spawn_blocking(reap_orphans).await.unwrap_or(0);
            if reaped > 0 {
                tracing::debug!("reaped {reaped} orphaned codex helpers");
            }
            if children.recv().await.is_none() {
                return;
            }
        }
    });
}

/// Reaps every zombie that is our direct child and not an app-server.
/// Returns how many it reaped.
pub fn reap_orphans() -> usize {
    // Held from before the scan to the last reap: no spawn runs meanwhile
    // (see `while_spawning`).
    let mut registry = app_servers();
    let me = std::process::id();
    let mut ours = HashSet::new();
    let mut zombies = Vec::new();
    for process in super::process_table::read() {
        if process.parent == me {
            ours.insert(process.pid);
            if process.state == 'Z' {
                zombies.push(process.pid);
            }
        }
    }
    let app_servers = registry.get_or_insert_with(HashSet::new);
    // An app-server that tokio has reaped is no child of ours any more; its
    // pid may come back as an orphan's.
    app_servers.retain(|pid| ours.contains(pid));
    let mut reaped = 0;
    for pid in zombies {
        if app_servers.contains(&pid) {
            continue;
        }
        let Ok(raw) = i32::try_from(pid) else {
            continue;
        };
        let mut status = 0;
        // SAFETY: waitpid on one pid of ours that is already a zombie, with
        // WNOHANG: it never blocks and touches only `status`.
        if unsafe { libc::waitpid(raw, &mut status, libc::WNOHANG) } == raw {
            reaped += 1;
        }
    }
    reaped
}
