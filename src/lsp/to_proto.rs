//! Conversions from our types to LSP types, named after their target.

use tower_lsp_server::ls_types::{self as lsp, NumberOrString};

use crate::document::{Position, PositionEncoding, Range};
use crate::lsp::ext;
use crate::prompt::PromptRunError;
use crate::prompt::conversation;

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

/// A failed run as a diagnostic on `range`, with what its code actions need
/// in `data`. A Warning: a failed run says nothing about the code under it
/// (see `PromptRunError::is_about_the_code`), and an Error there would read
/// as a problem in correct code.
pub fn diagnostic(
    error: &PromptRunError,
    range: lsp::Range,
    data: Option<&ext::FailureData>,
) -> lsp::Diagnostic {
    let severity = if error.is_about_the_code() {
        lsp::DiagnosticSeverity::ERROR
    } else {
        lsp::DiagnosticSeverity::WARNING
    };
    lsp::Diagnostic {
        range,
        severity: Some(severity),
        code: Some(NumberOrString::String(error.code().to_string())),
        source: Some(DIAGNOSTIC_SOURCE.to_string()),
        message: error.to_string(),
        data: data.and_then(|data| serde_json::to_value(data).ok()),
        ..Default::default()
    }
}

/// A conversation's scope, as `codex.status` names it.
pub fn scope(scope: conversation::Scope) -> ext::Scope {
    match scope {
        conversation::Scope::Document => ext::Scope::Document,
        conversation::Scope::Workspace => ext::Scope::Workspace,
    }
}
