//! Conversions from LSP types to ours, named after their target.

use std::path::PathBuf;

use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::document::{Position, PositionEncoding, Range, TextChange};

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

/// The document's file path, for `file:` URIs.
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|path| path.into_owned())
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
