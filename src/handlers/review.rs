//! Review runs: the findings Codex returns are checked against the document
//! (inside the reviewed lines, text unchanged since the review began) and
//! published as diagnostics with `source: "codex-review"`, replacing the
//! previous findings on those lines. A finding with a suggestion carries it
//! in `data` with the text it was made for, for the "Codex: Apply
//! suggestion" quick fix, and shows it in `relatedInformation`.
//!
//! Findings then follow the text: every `didChange` moves them with the
//! lines they are on, and drops those whose lines changed (including by
//! applying their suggestion), so a finding never points at other code.

use std::sync::atomic::{AtomicU64, Ordering};

use ropey::Rope;
use serde::Deserialize;
use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::document::{self, AppliedChange, PositionEncoding, follow_lines};
use crate::lsp::{ext, to_proto};
use crate::prompt::structured::{Finding, ValidFinding, validate_findings};
use crate::session::Session;

use super::diagnostics;

/// Numbers each finding with a suggestion, so its quick fix finds it again
/// even where another finding has the same suggestion for the same text
/// (two copies of a line).
static NEXT_FINDING: AtomicU64 = AtomicU64::new(1);

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
        .map(|finding| diagnostic(uri, &now.text, finding, encoding))
        .collect();
    let published = diagnostics.len();
    diagnostics::replace_review(session, uri, target.lines, diagnostics).await;
    published
}

/// The text of the whole lines `first..=last`, without the last line's
/// break: what a suggestion for them was made for.
pub fn lines_text(text: &Rope, first: u32, last: u32, encoding: PositionEncoding) -> String {
    let range = document::lines_range(text, first, last, encoding);
    let start = document::char_index_lenient(text, range.start, encoding);
    let end = document::char_index_lenient(text, range.end, encoding);
    text.slice(start..end.max(start)).to_string()
}

fn diagnostic(
    uri: &Uri,
    text: &Rope,
    finding: &ValidFinding,
    encoding: PositionEncoding,
) -> lsp::Diagnostic {
    let range = to_proto::range(document::lines_range(
        text,
        finding.first_line,
        finding.last_line,
        encoding,
    ));
    let data = finding
        .suggestion
        .as_ref()
        .map(|suggestion| ext::FindingData {
            finding: NEXT_FINDING.fetch_add(1, Ordering::Relaxed),
            suggestion: suggestion.clone(),
            first_line: finding.first_line,
            last_line: finding.last_line,
            reviewed: lines_text(text, finding.first_line, finding.last_line, encoding),
        });
    to_proto::review_finding(uri, range, finding, data.as_ref())
}

/// Moves the document's findings through one `didChange` (`changes`, which
/// made `after` of `before`): findings on lines typed above move with them,
/// findings whose own lines changed are dropped. Returns whether anything
/// moved or was dropped, so the caller republishes.
pub fn follow_changes(
    session: &Session,
    uri: &str,
    before: &Rope,
    after: &Rope,
    changes: &[AppliedChange],
) -> bool {
    let Some(mut findings) = session.reviews.get_mut(uri) else {
        return false;
    };
    let encoding = session.encoding();
    let count = findings.len();
    let mut moved = false;
    findings.retain_mut(|finding| {
        let lines = (finding.range.start.line, finding.range.end.line);
        let Some(now) = follow_lines(before, after, lines, changes) else {
            return false;
        };
        if now != lines {
            moved = true;
            move_to(finding, after, now, encoding);
        }
        true
    });
    let (changed, none_left) = (moved || findings.len() != count, findings.is_empty());
    drop(findings);
    if none_left {
        // Nothing left to follow: later changes need not keep the old text.
        session
            .reviews
            .remove_if(uri, |_, findings| findings.is_empty());
    }
    changed
}

/// Puts `finding` on the lines `first..=last` of `text`.
fn move_to(
    finding: &mut lsp::Diagnostic,
    text: &Rope,
    (first, last): (u32, u32),
    encoding: PositionEncoding,
) {
    let range = to_proto::range(document::lines_range(text, first, last, encoding));
    to_proto::move_finding(finding, range, (first, last));
}

/// The range where the document's finding number `id` (`data.finding`) is
/// now, if it is still published: an editor may ask with a diagnostic it
/// has not yet seen move.
pub fn current_range(session: &Session, uri: &str, id: u64) -> Option<lsp::Range> {
    let findings = session.reviews.get(uri)?;
    findings
        .iter()
        .find(|finding| {
            finding
                .data
                .as_ref()
                .and_then(|data| ext::FindingData::deserialize(data).ok())
                .is_some_and(|data| data.finding == id)
        })
        .map(|finding| finding.range)
}
