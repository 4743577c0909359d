//! Processes as the tests see them through /proc: a process tree, whether
//! a process is gone, and waiting (with a deadline) until processes end.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

/// (pid, state letter, parent pid) of every process, from /proc.
pub fn process_table() -> Vec<(u32, char, u32)> {
    codex_ls::codex::process_table::read()
        .into_iter()
        .map(|process| (process.pid, process.state, process.parent))
        .collect()
}

/// Every process below `root`.
pub fn descendants(root: u32) -> Vec<u32> {
    let table = process_table();
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(pid) = stack.pop() {
        for (child, _, _) in table.iter().filter(|(_, _, parent)| *parent == pid) {
            found.push(*child);
            stack.push(*child);
        }
    }
    found
}

/// The state letter of `pid` (`Z` for a zombie); `None` once it is reaped.
pub fn state(pid: u32) -> Option<char> {
    let stat =
        std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
    codex_ls::codex::process_table::parse_stat(pid, &stat).map(|process| process.state)
}

/// Waits until every process in `pids` has exited (a zombie counts as
/// exited), each through a pidfd that becomes readable when its process
/// ends. Returns the ones still running at the deadline.
pub async fn wait_all_gone(pids: &[u32], timeout: Duration) -> Vec<u32> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use tokio::io::unix::AsyncFd;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut left = Vec::new();
    for &pid in pids {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
        if fd < 0 {
            continue; // already gone and reaped
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: the AsyncFd owns the pidfd and drops it only after
        // deregistering it.
        let pidfd = unsafe { AsyncFd::register(pidfd) }.expect("pidfd registers with tokio");
        if tokio::time::timeout_at(deadline, pidfd.readable())
            .await
            .is_err()
        {
            left.push(pid);
        }
    }
    left
}

/// Waits until `condition` holds, checking every 10 ms, for at most
/// `timeout`; returns whether it held. For states no event announces (a
/// zombie being reaped, a file appearing).
pub async fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
