//! Applying an edit run's replacement through the editor with
//! `workspace/applyEdit`, as one undoable edit on the document version the
//! server has now. If the user typed during the run, the edit follows the
//! selection through every change the server received (after a full-text
//! sync, to the one place its text still occurs); if that text changed, or
//! cannot be told apart from a copy, nothing is applied, the replacement
//! stays in the run's result, and a `document-changed` diagnostic says so.
//! The replacement's last line break is fitted to how the selection ends,
//! so line-wise selections keep their lines.

use std::time::Duration;

use tower_lsp_server::ls_types::{self as lsp, TextEdit, Uri, WorkspaceEdit};

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
    /// Ask the user to confirm (where the client can); `None` follows
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

pub async fn apply(
    session: &Session,
    uri: &Uri,
    target: &EditTarget,
    proposal: &EditProposal,
    config: &Config,
) -> EditOutcome {
    let preview = target.preview.unwrap_or(config.edit_preview);
    let encoding = session.encoding();
    let report =
        |status: EditStatus, range: Option<lsp::Range>, reason: Option<String>| ext::EditReport {
            status,
            replacement: proposal.replacement.clone(),
            explanation: proposal.explanation.clone(),
            range,
            reason,
        };
    if !session.support().apply_edit {
        let reason = "the editor cannot apply edits (no workspace/applyEdit support)";
        return EditOutcome {
            report: report(EditStatus::Rejected, None, Some(reason.to_string())),
            changed: None,
        };
    }
    // Two tries: a client that rejects because the user typed between our
    // read and its apply gets the edit re-anchored once more.
    let mut last_rejection = None;
    for _ in 0..2 {
        let Some(now) = session.documents.snapshot(uri.as_str()) else {
            return EditOutcome {
                report: report(
                    EditStatus::NotApplied,
                    None,
                    Some("the document was closed".into()),
                ),
                changed: None,
            };
        };
        let Some(range) = locate(&now, target) else {
            let reason = "the selected text changed while Codex worked (or, after the editor re-sent the whole document, occurs more than once), so the edit was not applied; the replacement is kept in the run's result";
            return EditOutcome {
                report: report(EditStatus::NotApplied, None, Some(reason.to_string())),
                changed: Some(changed_diagnostic(target, reason)),
            };
        };
        let new_text = new_text(&now, target, range.clone(), proposal);
        let edited = document::Range::new(
            document::position(&now.text, range.start, encoding),
            document::position(&now.text, range.end, encoding),
        );
        let lsp_range = to_proto::range(edited);
        let text_edit = to_proto::text_edit(edited, new_text);
        let edit = workspace_edit(session, uri, &now, text_edit, target, proposal, preview);
        let timeout = if preview {
            config.approval_timeout()
        } else {
            APPLY_TIMEOUT
        };
        match tokio::time::timeout(timeout, session.client.apply_edit(edit)).await {
            Ok(Ok(response)) if response.applied => {
                return EditOutcome {
                    report: report(EditStatus::Applied, Some(lsp_range), None),
                    changed: None,
                };
            }
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
    let reason = last_rejection.unwrap_or_else(|| "the editor did not apply the edit".into());
    EditOutcome {
        report: report(EditStatus::Rejected, None, Some(reason)),
        changed: None,
    }
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
fn locate(now: &DocumentSnapshot, target: &EditTarget) -> Option<std::ops::Range<usize>> {
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
fn new_text(
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

/// The edit of a run as the editor gets it: on the version the server has
/// when the client supports versioned edits; with a preview (`preview` and
/// a client that supports change annotations), annotated with the run's
/// label and explanation and asking to confirm (see
/// `to_proto::previewed_edit`).
fn workspace_edit(
    session: &Session,
    uri: &Uri,
    now: &DocumentSnapshot,
    text_edit: TextEdit,
    target: &EditTarget,
    proposal: &EditProposal,
    preview: bool,
) -> WorkspaceEdit {
    let support = session.support();
    if !support.document_changes {
        return to_proto::document_edit(uri, None, vec![text_edit]);
    }
    if !(preview && support.change_annotations) {
        return to_proto::document_edit(uri, Some(now.version), vec![text_edit]);
    }
    let preview = to_proto::EditPreview {
        label: &target.label,
        explanation: &proposal.explanation,
        confirm_by_create: support.create_files
            && uri.scheme().as_str().eq_ignore_ascii_case("file"),
    };
    to_proto::previewed_edit(uri, now.version, text_edit, preview)
}

/// Text inserted at the end of the document starts on a line of its own,
/// after a blank line, and ends with exactly one line break.
fn insertion(now: &DocumentSnapshot, text: &str) -> String {
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
