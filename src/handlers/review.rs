//! Review runs: the findings Codex returns are checked against the document
//! (inside the reviewed lines, text unchanged since the review began) and
//! published as diagnostics with `source: "codex-review"`, replacing the
//! previous findings on those lines. A finding with a suggestion carries it
//! in `data`, for the "Codex: Apply suggestion" quick fix.

use ropey::Rope;
use serde_json::json;
use tower_lsp_server::ls_types::{self as lsp, NumberOrString, Uri};

use crate::document::{self, PositionEncoding};
use crate::lsp::to_proto;
use crate::prompt::structured::{Finding, Severity, ValidFinding, validate_findings};
use crate::session::Session;

use super::diagnostics;

pub const REVIEW_SOURCE: &str = "codex-review";

/// What was reviewed, as seen when the run started.
#[derive(Debug, Clone)]
pub struct ReviewTarget {
    pub text: Rope,
    /// 0-based inclusive line span.
    pub lines: (u32, u32),
}

/// Validates and publishes; returns how many findings were published.
pub async fn publish(
    session: &Session,
    uri: &Uri,
    target: &ReviewTarget,
    findings: Vec<Finding>,
) -> usize {
    let Some(now) = session.documents.snapshot(uri.as_str()) else {
        return 0;
    };
    let reviewed = target.text.to_string();
    let current = now.contents();
    let (valid, dropped) = validate_findings(findings, target.lines, &reviewed, &current);
    if dropped > 0 {
        tracing::info!(
            "dropped {dropped} review findings outside the reviewed lines or on changed text"
        );
    }
    let encoding = session.encoding();
    let diagnostics: Vec<lsp::Diagnostic> = valid
        .iter()
        .map(|finding| diagnostic(&now.text, finding, encoding))
        .collect();
    let published = diagnostics.len();
    diagnostics::replace_review(session, uri, target.lines, diagnostics).await;
    published
}

fn diagnostic(text: &Rope, finding: &ValidFinding, encoding: PositionEncoding) -> lsp::Diagnostic {
    let range = document::lines_range(text, finding.first_line, finding.last_line, encoding);
    lsp::Diagnostic {
        range: to_proto::range(range),
        severity: Some(match finding.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
            Severity::Information => lsp::DiagnosticSeverity::INFORMATION,
            Severity::Hint => lsp::DiagnosticSeverity::HINT,
        }),
        code: Some(NumberOrString::String("review".to_string())),
        source: Some(REVIEW_SOURCE.to_string()),
        message: finding.message.clone(),
        data: finding.suggestion.as_ref().map(|suggestion| {
            json!({
                "suggestion": suggestion,
                "firstLine": finding.first_line,
                "lastLine": finding.last_line,
            })
        }),
        ..Default::default()
    }
}
