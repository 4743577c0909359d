//! The Codex CLI versions codex-ls supports: the range its test suite runs
//! against (the pinned version, and npm `latest` when the registry can be
//! reached). A version outside it gets a notice, never advice to downgrade:
//! users install what `npm install -g @openai/codex` gives them.

use std::cmp::Ordering;

/// The oldest supported version (major, minor); every patch release counts.
pub const OLDEST: (u64, u64) = (0, 169);
/// The newest supported version (major, minor).
pub const NEWEST: (u64, u64) = (0, 171);

/// Where a version stands against the supported range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Supported,
    Older,
    Newer,
    /// Not a version number codex-ls can read.
    Unknown,
}

/// The supported range as people read it: "0.169 to 0.171".
pub fn range() -> String {
    format!("{}.{} to {}.{}", OLDEST.0, OLDEST.1, NEWEST.0, NEWEST.1)
}

/// Where `version` (e.g. "0.171.0", "0.172.0-alpha.1") stands.
pub fn support(version: &str) -> Support {
    let mut numbers = version
        .split(['.', '-', '+'])
        .map(|part| part.parse::<u64>());
    let (Some(Ok(major)), Some(Ok(minor))) = (numbers.next(), numbers.next()) else {
        return Support::Unknown;
    };
    match ((major, minor).cmp(&OLDEST), (major, minor).cmp(&NEWEST)) {
        (Ordering::Less, _) => Support::Older,
        (_, Ordering::Greater) => Support::Newer,
        _ => Support::Supported,
    }
}

/// The notice for a version outside the range, if any.
pub fn notice(version: &str) -> Option<String> {
    let range = range();
    match support(version) {
        Support::Supported => None,
        Support::Newer => Some(format!(
            "codex-ls found Codex CLI {version}, newer than the versions it is tested with ({range}). It should work; if something misbehaves, please report it with this version."
        )),
        Support::Older => Some(format!(
            "codex-ls found Codex CLI {version}, older than the versions it is tested with ({range}). Updating it with `npm install -g @openai/codex` is recommended."
        )),
        Support::Unknown => Some(format!(
            "codex-ls could not read the Codex CLI version ({version}); it is tested with {range}."
        )),
    }
}

/// Logs the version found at start-up, at `info` (`codex-ls ask` shows
/// this target's info lines on stderr too).
pub fn log_found(version: Option<&str>, pid: Option<u32>) {
    let version = version.unwrap_or("of an unknown version");
    match pid {
        Some(pid) => tracing::info!("using Codex CLI {version} (app-server pid {pid})"),
        None => tracing::info!("using Codex CLI {version}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tested_range_is_supported_and_others_get_a_notice() {
        for version in ["0.169.0", "0.170.2", "0.171.0", "0.171.7-alpha.1"] {
            assert_eq!(support(version), Support::Supported, "{version}");
            assert_eq!(notice(version), None);
        }
        assert_eq!(support("0.168.9"), Support::Older);
        assert_eq!(support("0.172.0"), Support::Newer);
        assert_eq!(support("1.0.0"), Support::Newer);
        assert_eq!(support("dev"), Support::Unknown);
        let newer = notice("0.172.0").unwrap();
        assert!(newer.contains("0.172.0") && newer.contains("0.169 to 0.171"));
        for text in [newer, notice("0.160.0").unwrap()] {
            assert!(
                !text.contains("@0.169"),
                "never advice to downgrade: {text}"
            );
            assert!(!text.to_lowercase().contains("downgrade"), "{text}");
        }
    }
}
