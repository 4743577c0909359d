//! Applying an edit run's replacement through the editor with
//! `workspace/applyEdit`, as one undoable edit on the document version the
//! server has now. If the user typed during the run, the edit follows the
//! selection through every change the server received (after a full-text
//! sync, to the one place its text still occurs); if that text changed, or
//! cannot be told apart from a copy, nothing is applied, the replacement
//! stays in the run's result, and a `document-changed` diagnostic says so.
//! The replacement's last line break is fitted to how the selection ends,
//! so line-wise selections keep their lines.

use std::collections::HashMap;
use std::time::Duration;

use tower_lsp_server::ls_types::{
    self as lsp, AnnotatedTextEdit, ChangeAnnotation, DocumentChanges, NumberOrString, OneOf,
    OptionalVersionedTextDocumentIdentifier, TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

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
        let lsp_range = to_proto::range(document::Range::new(
            document::position(&now.text, range.start, encoding),
            document::position(&now.text, range.end, encoding),
        ));
        let text_edit = TextEdit {
            range: lsp_range,
            new_text,
        };
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

/// The edit of a run as the editor gets it. With a preview (`preview` and a
/// client that supports change annotations), the text edit carries an
/// annotation with the run's label and explanation.
///
/// What asks for the confirmation is a no-op operation of its own: creating
/// the document's file with `ignoreIfExists`, annotated `needsConfirmation`.
/// VS Code opens its Refactor Preview when any operation needs confirmation,
/// but starts every such operation unticked (`!needsConfirmation`, as
/// designed: microsoft/vscode#200991, #207578), so a text edit that needs
/// confirmation itself would be dropped by "Apply". The create of an existing
/// file is not even listed there, and applied anywhere it changes nothing, so
/// the preview opens with the edit ticked. Clients that cannot create files
/// through an edit, or documents that are not files, get the annotation on the
/// text edit itself.
fn workspace_edit(
    session: &Session,
    uri: &Uri,
    now: &DocumentSnapshot,
    text_edit: TextEdit,
    target: &EditTarget,
    proposal: &EditProposal,
    preview: bool,
) -> WorkspaceEdit {
    const EDIT_ANNOTATION: &str = "codex";
    const CONFIRM_ANNOTATION: &str = "codex-preview";
    let support = session.support();
    if !support.document_changes {
        return WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), vec![text_edit])])),
            ..Default::default()
        };
    }
    let document_edit = |edit| TextDocumentEdit {
        text_document: OptionalVersionedTextDocumentIdentifier {
            uri: uri.clone(),
            version: Some(now.version),
        },
        edits: vec![edit],
    };
    if !(preview && support.change_annotations) {
        return WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![document_edit(OneOf::Left(
                text_edit,
            ))])),
            ..Default::default()
        };
    }
    let confirm_by_create =
        support.create_files && uri.scheme().as_str().eq_ignore_ascii_case("file");
    let edit = document_edit(OneOf::Right(AnnotatedTextEdit {
        text_edit,
        annotation_id: EDIT_ANNOTATION.to_string(),
    }));
    let mut annotations = HashMap::from([(
        EDIT_ANNOTATION.to_string(),
        ChangeAnnotation {
            label: target.label.clone(),
            needs_confirmation: Some(!confirm_by_create),
            description: Some(proposal.explanation.clone()),
        },
    )]);
    let document_changes = if confirm_by_create {
        annotations.insert(
            CONFIRM_ANNOTATION.to_string(),
            ChangeAnnotation {
                label: format!("{}: preview", target.label),
                needs_confirmation: Some(true),
                description: Some("asks to confirm the edit; creates nothing".to_string()),
            },
        );
        let confirm = lsp::CreateFile {
            uri: uri.clone(),
            options: Some(lsp::CreateFileOptions {
                overwrite: None,
                ignore_if_exists: Some(true),
            }),
            annotation_id: Some(CONFIRM_ANNOTATION.to_string()),
        };
        DocumentChanges::Operations(vec![
            lsp::DocumentChangeOperation::Edit(edit),
            lsp::DocumentChangeOperation::Op(lsp::ResourceOp::Create(confirm)),
        ])
    } else {
        DocumentChanges::Edits(vec![edit])
    };
    WorkspaceEdit {
        document_changes: Some(document_changes),
        change_annotations: Some(annotations),
        ..Default::default()
    }
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
    lsp::Diagnostic {
        range: to_proto::range(target.range),
        severity: Some(lsp::DiagnosticSeverity::WARNING),
        code: Some(NumberOrString::String(codes::DOCUMENT_CHANGED.to_string())),
        source: Some(to_proto::DIAGNOSTIC_SOURCE.to_string()),
        message: format!("{}: {reason}. Run it again on the new text.", target.label),
        ..Default::default()
    }
}
