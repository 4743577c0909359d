//! Conversions from our types to LSP types, named after their target.

use tower_lsp_server::ls_types::{self as lsp, NumberOrString};

use crate::document::{Position, PositionEncoding, Range};
use crate::prompt::PromptRunError;

pub fn position(position: Position) -> lsp::Position {
    lsp::Position {
        line: position.line,
        character: position.character,
    }
}

pub fn range(range: Range) -> lsp::Range {
    lsp::Range {
        start: position(range.start),
        end: position(range.end),
    }
}

pub fn position_encoding_kind(encoding: PositionEncoding) -> lsp::PositionEncodingKind {
    lsp::PositionEncodingKind::new(encoding.as_str())
}

/// The source of our failure diagnostics.
pub const DIAGNOSTIC_SOURCE: &str = "codex";

/// A failed run as a diagnostic on `range`.
pub fn diagnostic(error: &PromptRunError, range: lsp::Range) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range,
        severity: Some(lsp::DiagnosticSeverity::ERROR),
        code: Some(NumberOrString::String(error.code().to_string())),
        source: Some(DIAGNOSTIC_SOURCE.to_string()),
        message: error.to_string(),
        ..Default::default()
    }
}
