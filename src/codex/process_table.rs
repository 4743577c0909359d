//! The processes of this machine as `/proc` shows them: pid, state and
//! parent. codex-ls reads it to find and reap the processes Codex left
//! behind (its descendants, and orphans reparented to it).

/// One process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The state letter (`R`, `S`, `Z` for a zombie, ...).
    pub state: char,
    pub parent: u32,
}

/// Every process whose `/proc/PID/stat` could be read (a process may exit
/// while the table is read: it is then left out).
pub fn read() -> Vec<ProcessInfo> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            parse_stat(pid, &stat)
        })
        .collect()
}

/// Reads the state and the parent from a `/proc/PID/stat` line. The command
/// name is in parentheses and may itself hold spaces and parentheses, so
/// the fields are read after the last `)`.
pub fn parse_stat(pid: u32, stat: &str) -> Option<ProcessInfo> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some(ProcessInfo { pid, state, parent })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_after_the_last_parenthesis() {
        assert_eq!(
            parse_stat(42, "42 (a) Z) (c) Z 7 42 42 0"),
            Some(ProcessInfo {
                pid: 42,
                state: 'Z',
                parent: 7
            })
        );
        assert_eq!(parse_stat(1, "garbage"), None);
    }

    #[test]
    fn this_process_is_in_the_table() {
        let me = std::process::id();
        assert!(read().iter().any(|process| process.pid == me));
    }
}
