//! What /proc tells of a server process: CPU time and memory.

pub(crate) fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// The process's CPU time (utime + stime) in ms.
pub(crate) fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> f64 {
        fields
            .get(n - 3)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0.0)
    };
    (field(14) + field(15)) * 1e3 / clock_ticks_per_sec()
}

/// A `VmXXX:` value of /proc/PID/status, in KiB.
pub(crate) fn status_kb(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn peak_kb(pid: u32) -> u64 {
    status_kb(pid, "VmHWM:")
}

pub(crate) fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:")
}
