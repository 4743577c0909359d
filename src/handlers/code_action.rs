//! Code actions on a selection: explain, rewrite (improve, simplify,
//! document), fix (when diagnostics touch the selection), write tests,
//! review, the user's own actions, and "apply suggestion" on a review
//! finding. Each has a kind that puts it in the editors' menus (`quickfix`
//! for fixes, `refactor.rewrite` for rewrites, `refactor.codex.*` for the
//! others, `source.codex.review` for reviewing the whole file) and honours
//! `context.only`. The actions are cheap until chosen: with a client that
//! resolves them, `codeAction/resolve` fills in the command or the edit.

use std::sync::Arc;

use serde::Deserialize;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{
    self as lsp, CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, WorkspaceEdit,
};

use crate::document;
use crate::lsp::ext::{
    self, ActionArgs, ExplainArgs, FixArgs, ReviewArgs, RewriteArgs, RewritePreset, TestsArgs,
    TestsMode, TextDocumentRef,
};
use crate::lsp::to_proto::{self, REVIEW_SOURCE};
use crate::prompt::actions::ActionMode;
use crate::prompt::error::codes;
use crate::session::Session;

use super::review;

pub const EXPLAIN_TITLE: &str = "Codex: Explain selection";

/// The kinds we offer, for the server's capabilities.
pub fn kinds() -> Vec<CodeActionKind> {
    vec![
        CodeActionKind::QUICKFIX,
        CodeActionKind::REFACTOR_REWRITE,
        CodeActionKind::new("refactor.codex"),
        CodeActionKind::new("source.codex"),
    ]
}

pub fn code_action(
    session: &Session,
    params: CodeActionParams,
) -> Option<Vec<CodeActionOrCommand>> {
    let uri = params.text_document.uri.clone();
    let range = params.range;
    let selected = range.start != range.end;
    let document = || TextDocumentRef::any_version(uri.clone());
    let mut offers = Vec::new();
    let touching: Vec<lsp::Diagnostic> = params
        .context
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.source.as_deref() != Some(REVIEW_SOURCE))
        // A failed run is nothing for Codex to fix in the code.
        .filter(|diagnostic| diagnostic.source.as_deref() != Some(to_proto::DIAGNOSTIC_SOURCE))
        .filter(|diagnostic| intersects(diagnostic.range, range))
        .cloned()
        .collect();
    if selected {
        offers.extend(selection_offers(document, range));
    }
    if selected && !touching.is_empty() {
        let fix = ext::Command::Fix(FixArgs::new(document(), range, touching.clone()));
        let mut fix = offer("Codex: Fix", CodeActionKind::QUICKFIX.as_str(), &fix);
        fix.diagnostics = Some(touching);
        offers.push(fix);
    }
    offers.push(offer(
        "Codex: Review file",
        "source.codex.review",
        &ext::Command::Review(ReviewArgs::new(document(), None)),
    ));
    for action in &session.config().actions {
        let needs_selection = action.mode == ActionMode::Edit;
        if needs_selection && !selected {
            continue;
        }
        let args = ActionArgs::new(document(), Some(range), action.title.clone());
        offers.push(offer(
            &format!("Codex: {}", action.title),
            "refactor.codex.action",
            &ext::Command::Action(args),
        ));
    }
    let support = session.support();
    let only = params.context.only.as_deref();
    let mut actions: Vec<CodeActionOrCommand> = offers
        .into_iter()
        .filter(|offer| wanted(only, &offer.kind))
        .map(|offer| to_proto::code_action(offer, support.code_action_resolve))
        .map(CodeActionOrCommand::CodeAction)
        .collect();
    // Quick fixes of the diagnostics in context: review suggestions, and
    // the actions of failure diagnostics.
    if wanted(only, &CodeActionKind::QUICKFIX) {
        let diagnostics = &params.context.diagnostics;
        actions.extend(
            diagnostics
                .iter()
                .filter_map(|diagnostic| suggestion_action(session, &uri, diagnostic))
                .map(CodeActionOrCommand::CodeAction),
        );
        actions.extend(
            diagnostics
                .iter()
                .flat_map(failure_offers)
                .map(|offer| to_proto::code_action(offer, support.code_action_resolve))
                .map(CodeActionOrCommand::CodeAction),
        );
    }
    (!actions.is_empty()).then_some(actions)
}

/// The actions on a selection: explain, the rewrites, tests, review.
fn selection_offers(
    document: impl Fn() -> TextDocumentRef,
    range: lsp::Range,
) -> Vec<ext::ActionOffer> {
    let mut offers = vec![offer(
        EXPLAIN_TITLE,
        "refactor.codex.explain",
        &ext::Command::Explain(ExplainArgs::new(document(), Some(range))),
    )];
    for (title, preset, name) in [
        (
            "Codex: Improve selection",
            RewritePreset::Improve,
            "improve",
        ),
        (
            "Codex: Simplify selection",
            RewritePreset::Simplify,
            "simplify",
        ),
        (
            "Codex: Add documentation comments",
            RewritePreset::Document,
            "document",
        ),
    ] {
        offers.push(offer(
            title,
            &format!("refactor.rewrite.codex.{name}"),
            &ext::Command::Rewrite(RewriteArgs::new(document(), range, Some(preset))),
        ));
    }
    for (title, kind, mode) in [
        (
            "Codex: Write tests for selection",
            "refactor.codex.tests",
            TestsMode::Answer,
        ),
        (
            "Codex: Write tests into this file",
            "refactor.codex.tests.insert",
            TestsMode::Edit,
        ),
    ] {
        let tests = TestsArgs::new(document(), range, mode);
        offers.push(offer(title, kind, &ext::Command::Tests(tests)));
    }
    offers.push(offer(
        "Codex: Review selection",
        "refactor.codex.review",
        &ext::Command::Review(ReviewArgs::new(document(), Some(range))),
    ));
    offers
}

pub const RETRY_TITLE: &str = "Codex: Retry";

/// The actions of a failure diagnostic (`source: "codex"`): "Codex: Retry"
/// runs the failed command again, on the diagnostic's range as the editor
/// has it now (it follows edits there); an `unauthorized` failure also gets
/// how to sign in, a `backend-unavailable` one the settings. Only our own
/// run commands are retried, whatever `data` says.
fn failure_offers(diagnostic: &lsp::Diagnostic) -> Vec<ext::ActionOffer> {
    if diagnostic.source.as_deref() != Some(to_proto::DIAGNOSTIC_SOURCE) {
        return Vec::new();
    }
    let mut offers = Vec::new();
    let data = diagnostic
        .data
        .as_ref()
        .and_then(|data| ext::FailureData::deserialize(data).ok());
    if let Some(data) = data
        && ext::RUN_COMMANDS.contains(&data.retry.command.as_str())
    {
        let mut call = data.retry;
        call.follow_diagnostic(diagnostic.range);
        let mut retry = offer_call(RETRY_TITLE, CodeActionKind::QUICKFIX.as_str(), call);
        retry.is_preferred = Some(true);
        offers.push(retry);
    }
    let help = match &diagnostic.code {
        Some(lsp::NumberOrString::String(code)) if code == codes::UNAUTHORIZED => {
            Some(("Codex: How to sign in", ext::Command::SignInHelp))
        }
        Some(lsp::NumberOrString::String(code)) if code == codes::BACKEND_UNAVAILABLE => {
            Some(("Codex: Open settings", ext::Command::OpenSettings))
        }
        _ => None,
    };
    if let Some((title, command)) = help {
        let mut help = offer(title, CodeActionKind::QUICKFIX.as_str(), &command);
        help.is_preferred = Some(false);
        offers.push(help);
    }
    for offer in &mut offers {
        offer.diagnostics = Some(vec![diagnostic.clone()]);
    }
    offers
}

fn offer(title: &str, kind: &str, command: &ext::Command) -> ext::ActionOffer {
    offer_call(title, kind, to_proto::command_call(command))
}

fn offer_call(title: &str, kind: &str, call: ext::RunCommand) -> ext::ActionOffer {
    ext::ActionOffer {
        title: title.to_string(),
        kind: CodeActionKind::from(kind.to_string()),
        call,
        diagnostics: None,
        is_preferred: None,
    }
}

/// "Codex: Apply suggestion" for a review finding that has one, where the
/// finding is now (the editor's copy of the diagnostic may not have moved
/// yet), and only while its lines hold the text it was made for. The edit
/// is built on resolve when the client resolves edits.
fn suggestion_action(
    session: &Session,
    uri: &lsp::Uri,
    diagnostic: &lsp::Diagnostic,
) -> Option<CodeAction> {
    if diagnostic.source.as_deref() != Some(REVIEW_SOURCE) {
        return None;
    }
    let data = ext::FindingData::deserialize(diagnostic.data.as_ref()?).ok()?;
    let range = review::current_range(session, uri.as_str(), data.finding)?;
    let suggestion = ext::SuggestionData {
        uri: uri.clone(),
        finding: data.finding,
        suggestion: data.suggestion,
        reviewed: data.reviewed,
        range,
    };
    let edit = if session.support().code_action_resolve {
        None
    } else {
        Some(suggestion_edit(session, &suggestion).ok()?)
    };
    Some(to_proto::suggestion_action(diagnostic, suggestion, edit))
}

/// `codeAction/resolve`: fills in the command or the suggestion's edit.
pub fn resolve(session: &Arc<Session>, mut action: CodeAction) -> Result<CodeAction> {
    let Some(data) = action.data.as_ref() else {
        return Ok(action);
    };
    let data = match ext::CodeActionData::deserialize(data) {
        Ok(data) => data,
        // Not ours, or from a codex-ls that wrote other data: left as it is,
        // unless it meant a suggestion, which cannot be applied then.
        Err(err) if data.get("suggestion").is_some() => {
            return Err(Error::invalid_params(format!(
                "invalid suggestion data: {err}"
            )));
        }
        Err(_) => return Ok(action),
    };
    match data {
        ext::CodeActionData::Suggestion { suggestion } => {
            match suggestion_edit(session, &suggestion) {
                Ok(edit) => action.edit = Some(edit),
                Err(SuggestionError::Stale) => refused_as_stale(session),
                Err(err) => return Err(Error::invalid_params(err.to_string())),
            }
        }
        ext::CodeActionData::Command(call) => {
            action.command = Some(to_proto::command(&action.title, call));
        }
    }
    Ok(action)
}

/// The action comes back without an edit, and the user learns why (from a
/// task: a handler never waits on the client).
fn refused_as_stale(session: &Arc<Session>) {
    let session = session.clone();
    tokio::spawn(async move {
        session
            .client
            .show_message(
                lsp::MessageType::WARNING,
                SuggestionError::Stale.to_string(),
            )
            .await;
    });
}

/// Why a suggestion cannot be applied.
#[derive(Debug, thiserror::Error)]
enum SuggestionError {
    #[error("{0} is not open")]
    NotOpen(String),
    #[error(
        "Codex: the suggestion was not applied: the lines it was made for changed since the review. Review them again."
    )]
    Stale,
}

/// Replaces the finding's whole lines with the suggestion, once they are
/// known to still hold the text the review saw (the finding's current
/// place, or the range the action was offered for).
fn suggestion_edit(
    session: &Session,
    suggestion: &ext::SuggestionData,
) -> std::result::Result<WorkspaceEdit, SuggestionError> {
    let uri = &suggestion.uri;
    let snapshot = session
        .documents
        .snapshot(uri.as_str())
        .ok_or_else(|| SuggestionError::NotOpen(uri.as_str().to_string()))?;
    let range = review::current_range(session, uri.as_str(), suggestion.finding)
        .unwrap_or(suggestion.range);
    let lines = snapshot.line_count() as u32;
    let (first, last) = (range.start.line, range.end.line);
    let encoding = session.encoding();
    if first > last
        || last >= lines
        || review::lines_text(&snapshot.text, first, last, encoding) != suggestion.reviewed
    {
        return Err(SuggestionError::Stale);
    }
    let after = last.saturating_add(1);
    let mut new_text = suggestion.suggestion.clone();
    let end = if after < lines {
        if !new_text.ends_with('\n') {
            new_text.push('\n');
        }
        document::Position::new(after, 0)
    } else {
        let text = &snapshot.text;
        document::position(text, text.len_chars(), encoding)
    };
    let range = document::Range::new(document::Position::new(first, 0), end);
    let edit = to_proto::text_edit(range, new_text);
    Ok(to_proto::document_edit(uri, None, vec![edit]))
}

fn intersects(a: lsp::Range, b: lsp::Range) -> bool {
    let before = |x: lsp::Position, y: lsp::Position| (x.line, x.character) < (y.line, y.character);
    !(before(a.end, b.start) || before(b.end, a.start))
}

/// LSP kinds are hierarchical: `refactor` contains `refactor.codex.explain`.
fn wanted(only: Option<&[CodeActionKind]>, kind: &CodeActionKind) -> bool {
    let Some(only) = only else { return true };
    only.iter().any(|wanted| {
        let (wanted, kind) = (wanted.as_str(), kind.as_str());
        wanted.is_empty() || kind == wanted || kind.starts_with(&format!("{wanted}."))
    })
}
