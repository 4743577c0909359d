//! Conversions from LSP types to ours, named after their target.

use std::path::PathBuf;

use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::document::{Position, PositionEncoding, Range, TextChange};
use crate::lsp::ext;
use crate::prompt::context::is_plain_path;
use crate::prompt::conversation;

pub fn position(position: lsp::Position) -> Position {
    Position {
        line: position.line,
        character: position.character,
    }
}

pub fn range(range: lsp::Range) -> Range {
    Range {
        start: position(range.start),
        end: position(range.end),
    }
}

pub fn text_change(change: lsp::TextDocumentContentChangeEvent) -> TextChange {
    TextChange {
        range: change.range.map(range),
        text: change.text,
    }
}

/// The local file a URI names: a `file:` URI (no host, or `localhost`)
/// whose path is absolute and has no `..` segment. Anything else names no
/// file of ours: other schemes (`untitled:`, `https:`; their paths are not
/// paths on this machine), other hosts, and paths that climb with `..`
/// (where they lead depends on symlinks, not on how they read). Documents
/// with such URIs are handled like untitled buffers.
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    if !uri.scheme().as_str().eq_ignore_ascii_case("file") {
        return None;
    }
    let host = uri.authority().map(|authority| authority.host());
    if host.is_some_and(|host| !host.is_empty() && !host.eq_ignore_ascii_case("localhost")) {
        return None;
    }
    let path = uri.to_file_path()?.into_owned();
    is_plain_path(&path).then_some(path)
}

/// The encoding to use, from the client's offered `positionEncodings`.
pub fn position_encoding(capabilities: &lsp::ClientCapabilities) -> PositionEncoding {
    let offered: Vec<&str> = capabilities
        .general
        .as_ref()
        .and_then(|general| general.position_encodings.as_ref())
        .map(|kinds| kinds.iter().map(|kind| kind.as_str()).collect())
        .unwrap_or_default();
    PositionEncoding::negotiate(&offered)
}

/// The stable string form of a progress token for the run registry.
pub fn token_key(token: &lsp::ProgressToken) -> String {
    match token {
        lsp::NumberOrString::Number(n) => format!("n:{n}"),
        lsp::NumberOrString::String(s) => format!("s:{s}"),
    }
}

/// The conversation scope a command asked for.
pub fn scope(scope: ext::Scope) -> conversation::Scope {
    match scope {
        ext::Scope::Document => conversation::Scope::Document,
        ext::Scope::Workspace => conversation::Scope::Workspace,
    }
}

/// The user's answer to a `codex/requestApproval`.
pub fn approval_decision(
    decision: ext::ApprovalDecision,
) -> crate::prompt::approval::ApprovalDecision {
    use crate::prompt::approval::ApprovalDecision;
    match decision {
        ext::ApprovalDecision::Accept => ApprovalDecision::Accept,
        ext::ApprovalDecision::AcceptForSession => ApprovalDecision::AcceptForSession,
        ext::ApprovalDecision::Decline => ApprovalDecision::Decline,
    }
}

/// Whether the client takes approvals as `codex/requestApproval` requests:
/// `capabilities.experimental.codex.approvals: true`.
pub fn typed_approvals(capabilities: &lsp::ClientCapabilities) -> bool {
    capabilities
        .experimental
        .as_ref()
        .and_then(|experimental| experimental.get("codex"))
        .and_then(|codex| codex.get("approvals"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn path_of(uri: &str) -> Option<PathBuf> {
        file_path(&Uri::from_str(uri).unwrap())
    }

    #[test]
    fn only_plain_local_file_uris_name_files() {
        assert_eq!(
            path_of("file:///w/src/a.rs"),
            Some(PathBuf::from("/w/src/a.rs"))
        );
        assert_eq!(
            path_of("FILE://localhost/w/a%20b.rs"),
            Some(PathBuf::from("/w/a b.rs"))
        );
        assert_eq!(path_of("file:///w/./a.rs"), Some(PathBuf::from("/w/a.rs")));
        for uri in [
            "file:///a/../b",
            "file:///w/%2E%2E/etc/passwd",
            "file:///w/sub/..",
            "file://server/share/a.rs",
            "untitled:Untitled-1",
            "https://example.com/etc/passwd",
            "file:relative/a.rs",
        ] {
            assert_eq!(path_of(uri), None, "{uri}");
        }
    }
}
