//! Applying an edit run's replacement through the editor with
//! `workspace/applyEdit`, as one undoable edit on the document version the
//! server has now. If the user typed during the run, the edit follows the
//! selection through every change the server received (after a full-text
//! sync, to the one place its text still occurs); if that text changed, or
//! cannot be told apart from a copy, nothing is applied, the replacement
//! stays in the run's result, and a `document-changed` diagnostic says so.
//! The replacement's last line break is fitted to how the selection ends,
//! so line-wise selections keep their lines. A preview run's edit is not
//! applied but proposed (see [`super::proposal`]), and lands later through
//! the same [`land`].

use std::time::Duration;

use tower_lsp_server::ls_types::{self as lsp, Uri};

use crate::config::Config;
use crate::document::{self, DocumentSnapshot, DocumentStore, Followed, RangeFollower};
use crate::lsp::ext::{self, EditStatus};
use crate::lsp::to_proto;
use crate::prompt::anchor::unique_occurrence;
use crate::prompt::error::codes;
use crate::prompt::structured::{EditProposal, SelectionEnd};
use crate::session::Session;

/// How long the client may take to apply an edit it does not ask about.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// Where an edit run's answer goes, as seen when the run started.
#[derive(Debug, Clone)]
pub struct EditTarget {
    /// The selection (or, to insert, the end of the document).
    pub range: document::Range,
    /// The selection's first character.
    pub start_char: usize,
    /// The selected text; empty when inserting.
    pub selected: String,
    pub version: i32,
    /// Insert at the end of the document instead of replacing.
    pub insert: bool,
    /// The selection, moved with the user's changes since the run began
    /// (see [`follow_selection`]).
    pub follower: Option<RangeFollower>,
    /// Propose the edit instead of applying it; `None` follows
    /// `editPreview`.
    pub preview: Option<bool>,
    pub label: String,
}

/// What became of the edit, and the diagnostic to publish if the document
/// changed under it.
pub struct EditOutcome {
    pub report: ext::EditReport,
    pub changed: Option<lsp::Diagnostic>,
}

/// Delivers an edit run's answer: applied through the editor, or, for a
/// preview (`preview`, or `editPreview`), kept as run `run_id`'s proposal
/// for `codex.applyProposal` (see [`super::proposal`]).
pub async fn apply(
    session: &Session,
    run_id: u64,
    uri: &Uri,
    target: &EditTarget,
    proposal: &EditProposal,
    config: &Config,
) -> EditOutcome {
    let report =
        |status: EditStatus, range: Option<lsp::Range>, reason: Option<String>| ext::EditReport {
            status,
            replacement: proposal.replacement.clone(),
            explanation: proposal.explanation.clone(),
            range,
            version: None,
            hunks: None,
            reason,
        };
    if target.preview.unwrap_or(config.edit_preview) {
        return match super::proposal::propose(session, run_id, uri, target, proposal) {
            Ok(proposed) => EditOutcome {
                report: proposed,
                changed: None,
            },
            Err(landing) => not_landed(target, landing, report),
        };
    }
    if !session.support().apply_edit {
        let reason = "the editor cannot apply edits (no workspace/applyEdit support)";
        return EditOutcome {
            report: report(EditStatus::Rejected, None, Some(reason.to_string())),
            changed: None,
        };
    }
    let landing = land(session, uri, target, |now, chars| {
        new_text(now, target, chars, proposal)
    })
    .await;
    match landing {
        Landing::Applied(range) => EditOutcome {
            report: report(EditStatus::Applied, Some(range), None),
            changed: None,
        },
        other => not_landed(target, other, report),
    }
}

/// The outcome of an edit that did not land: why, and for a selection
/// that changed, the diagnostic that says so.
fn not_landed(
    target: &EditTarget,
    landing: Landing,
    report: impl Fn(EditStatus, Option<lsp::Range>, Option<String>) -> ext::EditReport,
) -> EditOutcome {
    match landing {
        Landing::Applied(range) => EditOutcome {
            report: report(EditStatus::Applied, Some(range), None),
            changed: None,
        },
        Landing::Closed => EditOutcome {
            report: report(
                EditStatus::NotApplied,
                None,
                Some(DOCUMENT_CLOSED.to_string()),
            ),
            changed: None,
        },
        Landing::SelectionChanged => EditOutcome {
            report: report(
                EditStatus::NotApplied,
                None,
                Some(SELECTION_CHANGED.to_string()),
            ),
            changed: Some(changed_diagnostic(target, SELECTION_CHANGED)),
        },
        Landing::Rejected(reason) => EditOutcome {
            report: report(EditStatus::Rejected, None, Some(reason)),
            changed: None,
        },
    }
}

pub const DOCUMENT_CLOSED: &str = "the document was closed";
pub const SELECTION_CHANGED: &str = "the selected text changed while Codex worked (or, after the editor re-sent the whole document, occurs more than once), so the edit was not applied; the replacement is kept in the run's result";

/// What became of an edit sent to the editor.
#[derive(Debug)]
pub enum Landing {
    /// Applied at this range of the document as it is now.
    Applied(lsp::Range),
    /// The document is no longer open.
    Closed,
    /// The selected text changed (or cannot be told from a copy of it):
    /// nothing was sent.
    SelectionChanged,
    /// The editor did not apply it, for this reason.
    Rejected(String),
}

/// Sends one `workspace/applyEdit` replacing the selection of `target`
/// where it is now with `text_for(document now, the selection's chars)`,
/// versioned when the client supports it.
///
/// Two tries: a client that rejects because the user typed between our
/// read and its apply gets the edit re-anchored once more.
pub async fn land(
    session: &Session,
    uri: &Uri,
    target: &EditTarget,
    text_for: impl Fn(&DocumentSnapshot, std::ops::Range<usize>) -> String,
) -> Landing {
    let encoding = session.encoding();
    let mut last_rejection = None;
    for _ in 0..2 {
        let Some(now) = session.documents.snapshot(uri.as_str()) else {
            return Landing::Closed;
        };
        let Some(range) = locate(&now, target) else {
            return Landing::SelectionChanged;
        };
        let new_text = text_for(&now, range.clone());
        let edited = document::Range::new(
            document::position(&now.text, range.start, encoding),
            document::position(&now.text, range.end, encoding),
        );
        let lsp_range = to_proto::range(edited);
        let text_edit = to_proto::text_edit(edited, new_text);
        let version = session.support().document_changes.then_some(now.version);
        let edit = to_proto::document_edit(uri, version, vec![text_edit]);
        match tokio::time::timeout(APPLY_TIMEOUT, session.client.apply_edit(edit)).await {
            Ok(Ok(response)) if response.applied => return Landing::Applied(lsp_range),
            Ok(Ok(response)) => {
                last_rejection = Some(
                    response
                        .failure_reason
                        .unwrap_or_else(|| "the editor did not apply the edit".to_string()),
                );
                let moved = session
                    .documents
                    .snapshot(uri.as_str())
                    .is_some_and(|later| later.version != now.version);
                if !moved {
                    break;
                }
            }
            Ok(Err(err)) => {
                last_rejection = Some(format!("workspace/applyEdit failed: {err}"));
                break;
            }
            Err(_) => {
                last_rejection = Some("the editor did not answer workspace/applyEdit".into());
                break;
            }
        }
    }
    Landing::Rejected(last_rejection.unwrap_or_else(|| "the editor did not apply the edit".into()))
}

/// Starts following an edit run's selection (`selected`, from char
/// `start_char` of `snapshot`) through the changes the user makes while
/// Codex works.
pub fn follow_selection(
    documents: &DocumentStore,
    snapshot: &DocumentSnapshot,
    start_char: usize,
    selected: &str,
) -> Option<RangeFollower> {
    let end_char = start_char + selected.chars().count();
    documents.follow(&snapshot.uri, snapshot.version, start_char..end_char)
}

/// The characters the edit replaces in the document as it is now: where
/// the followed selection went, or, after a full-text sync, the one place
/// its text occurs. `None` when the selection changed or is ambiguous.
pub fn locate(now: &DocumentSnapshot, target: &EditTarget) -> Option<std::ops::Range<usize>> {
    if target.insert {
        let end = now.text.len_chars();
        return Some(end..end);
    }
    let chars = match target.follower.as_ref().map(RangeFollower::now) {
        Some(Followed::At(chars)) => chars,
        Some(Followed::Changed) => return None,
        None if now.version == target.version => {
            target.start_char..target.start_char + target.selected.chars().count()
        }
        Some(Followed::Resynced) | None => {
            let start = unique_occurrence(&now.contents(), &target.selected)?;
            start..start + target.selected.chars().count()
        }
    };
    // The followed range holds the selected text by construction; applying
    // over anything else would lose the user's text, so check anyway.
    let holds_selection = chars.end <= now.text.len_chars()
        && now.text.slice(chars.clone()) == target.selected.as_str();
    holds_selection.then_some(chars)
}

/// The text the edit puts in: an insertion on lines of its own, or the
/// replacement ending as the selection does (see [`SelectionEnd`]).
pub fn new_text(
    now: &DocumentSnapshot,
    target: &EditTarget,
    chars: std::ops::Range<usize>,
    proposal: &EditProposal,
) -> String {
    if target.insert {
        return insertion(now, &proposal.replacement);
    }
    let next = now.text.get_char(chars.end);
    SelectionEnd::of(&target.selected, next).fit(&proposal.replacement)
}

/// Text inserted at the end of the document starts on a line of its own,
/// after a blank line, and ends with exactly one line break.
pub fn insertion(now: &DocumentSnapshot, text: &str) -> String {
    let len = now.text.len_chars();
    let ends_with_newline = len > 0 && now.text.char(len - 1) == '\n';
    let mut inserted = String::new();
    if len > 0 {
        inserted.push_str(if ends_with_newline { "\n" } else { "\n\n" });
    }
    inserted.push_str(text.trim_end_matches(['\r', '\n']));
    inserted.push('\n');
    inserted
}

fn changed_diagnostic(target: &EditTarget, reason: &str) -> lsp::Diagnostic {
    let message = format!("{}: {reason}. Run it again on the new text.", target.label);
    to_proto::codex_warning(target.range, codes::DOCUMENT_CHANGED, message)
}
