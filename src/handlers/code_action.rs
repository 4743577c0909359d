//! Code actions on a selection: explain, rewrite (improve, simplify,
//! document), fix (when diagnostics touch the selection), write tests,
//! review, the user's own actions, and "apply suggestion" on a review
//! finding. Each has a kind that puts it in the editors' menus (`quickfix`
//! for fixes, `refactor.rewrite` for rewrites, `refactor.codex.*` for the
//! others, `source.codex.review` for reviewing the whole file) and honours
//! `context.only`. The actions are cheap until chosen: with a client that
//! resolves them, `codeAction/resolve` fills in the command or the edit.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::{
    self as lsp, CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Command,
    TextEdit, WorkspaceEdit,
};

use crate::document;
use crate::lsp::{ext, to_proto};
use crate::prompt::actions::ActionMode;
use crate::prompt::error::codes;
use crate::session::Session;

use super::review::{self, REVIEW_SOURCE};

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

/// An action before it is resolved: its title, kind, and the command it
/// runs (or the suggestion it applies).
struct Offer {
    title: String,
    kind: CodeActionKind,
    command: &'static str,
    argument: Value,
    diagnostics: Option<Vec<lsp::Diagnostic>>,
}

pub fn code_action(
    session: &Session,
    params: CodeActionParams,
) -> Option<Vec<CodeActionOrCommand>> {
    let uri = params.text_document.uri.clone();
    let range = params.range;
    let selected = range.start != range.end;
    let document = json!({"uri": uri});
    let on_selection = |extra: Value| {
        let mut argument = json!({"textDocument": document, "range": range});
        if let (Some(argument), Some(extra)) = (argument.as_object_mut(), extra.as_object()) {
            argument.extend(extra.clone());
        }
        argument
    };
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
        offers.push(offer(
            EXPLAIN_TITLE,
            "refactor.codex.explain",
            ext::EXPLAIN,
            on_selection(json!({})),
        ));
        for (title, preset) in [
            ("Codex: Improve selection", "improve"),
            ("Codex: Simplify selection", "simplify"),
            ("Codex: Add documentation comments", "document"),
        ] {
            offers.push(offer(
                title,
                &format!("refactor.rewrite.codex.{preset}"),
                ext::REWRITE,
                on_selection(json!({"preset": preset})),
            ));
        }
        offers.push(offer(
            "Codex: Write tests for selection",
            "refactor.codex.tests",
            ext::TESTS,
            on_selection(json!({})),
        ));
        offers.push(offer(
            "Codex: Write tests into this file",
            "refactor.codex.tests.insert",
            ext::TESTS,
            on_selection(json!({"mode": "edit"})),
        ));
        offers.push(offer(
            "Codex: Review selection",
            "refactor.codex.review",
            ext::REVIEW,
            on_selection(json!({})),
        ));
    }
    if selected && !touching.is_empty() {
        let diagnostics = serde_json::to_value(&touching).unwrap_or(Value::Null);
        let mut fix = offer(
            "Codex: Fix",
            CodeActionKind::QUICKFIX.as_str(),
            ext::FIX,
            on_selection(json!({"diagnostics": diagnostics})),
        );
        fix.diagnostics = Some(touching);
        offers.push(fix);
    }
    offers.push(offer(
        "Codex: Review file",
        "source.codex.review",
        ext::REVIEW,
        json!({"textDocument": document}),
    ));
    for action in &session.config().actions {
        let needs_selection = action.mode == ActionMode::Edit;
        if needs_selection && !selected {
            continue;
        }
        offers.push(offer(
            &format!("Codex: {}", action.title),
            "refactor.codex.action",
            ext::ACTION,
            on_selection(json!({"title": action.title})),
        ));
    }
    let support = session.support();
    let mut actions: Vec<CodeActionOrCommand> = offers
        .into_iter()
        .filter(|offer| wanted(params.context.only.as_deref(), &offer.kind))
        .map(|offer| {
            CodeActionOrCommand::CodeAction(unresolved(offer, support.code_action_resolve))
        })
        .collect();
    // Quick fixes of the diagnostics in context: review suggestions, and
    // the actions of failure diagnostics.
    if wanted(params.context.only.as_deref(), &CodeActionKind::QUICKFIX) {
        let diagnostics = &params.context.diagnostics;
        actions.extend(
            diagnostics
                .iter()
                .filter_map(|diagnostic| suggestion_action(session, &uri, diagnostic))
                .map(CodeActionOrCommand::CodeAction),
        );
        actions.extend(diagnostics.iter().flat_map(failure_offers).map(|offer| {
            let mut action = unresolved(offer, support.code_action_resolve);
            action.is_preferred = Some(action.title == RETRY_TITLE);
            CodeActionOrCommand::CodeAction(action)
        }));
    }
    (!actions.is_empty()).then_some(actions)
}

pub const RETRY_TITLE: &str = "Codex: Retry";

/// The actions of a failure diagnostic (`source: "codex"`): "Codex: Retry"
/// runs the failed command again, on the diagnostic's range as the editor
/// has it now (it follows edits there); an `unauthorized` failure also gets
/// how to sign in, a `backend-unavailable` one the settings. Only our own
/// run commands are retried, whatever `data` says.
fn failure_offers(diagnostic: &lsp::Diagnostic) -> Vec<Offer> {
    if diagnostic.source.as_deref() != Some(to_proto::DIAGNOSTIC_SOURCE) {
        return Vec::new();
    }
    let mut offers = Vec::new();
    let data = diagnostic
        .data
        .clone()
        .and_then(|data| serde_json::from_value::<ext::FailureData>(data).ok());
    if let Some(data) = data
        && let Some(command) = ext::RUN_COMMANDS
            .iter()
            .find(|command| **command == data.retry.command)
    {
        let mut argument = data.retry.argument;
        // A run on a selection has its diagnostic on the selection; one on
        // the whole file (no range, or an empty one) has it on the first
        // line, which must not become the retry's selection.
        let selected = argument
            .get("range")
            .and_then(|range| serde_json::from_value::<lsp::Range>(range.clone()).ok())
            .is_some_and(|range| range.start != range.end);
        if selected && let Some(fields) = argument.as_object_mut() {
            fields.insert("range".to_string(), json!(diagnostic.range));
        }
        offers.push(offer(
            RETRY_TITLE,
            CodeActionKind::QUICKFIX.as_str(),
            command,
            argument,
        ));
    }
    let help = match &diagnostic.code {
        Some(lsp::NumberOrString::String(code)) if code == codes::UNAUTHORIZED => {
            Some(("Codex: How to sign in", ext::SIGN_IN_HELP))
        }
        Some(lsp::NumberOrString::String(code)) if code == codes::BACKEND_UNAVAILABLE => {
            Some(("Codex: Open settings", ext::OPEN_SETTINGS))
        }
        _ => None,
    };
    if let Some((title, command)) = help {
        offers.push(offer(
            title,
            CodeActionKind::QUICKFIX.as_str(),
            command,
            json!({}),
        ));
    }
    for offer in &mut offers {
        offer.diagnostics = Some(vec![diagnostic.clone()]);
    }
    offers
}

fn offer(title: &str, kind: &str, command: &'static str, argument: Value) -> Offer {
    Offer {
        title: title.to_string(),
        kind: CodeActionKind::from(kind.to_string()),
        command,
        argument,
        diagnostics: None,
    }
}

/// The action with its command now, or, for a client that resolves
/// commands, with what `codeAction/resolve` needs in `data`.
fn unresolved(offer: Offer, resolve: bool) -> CodeAction {
    let command = Command {
        title: offer.title.clone(),
        command: offer.command.to_string(),
        arguments: Some(vec![offer.argument.clone()]),
    };
    CodeAction {
        title: offer.title,
        kind: Some(offer.kind),
        diagnostics: offer.diagnostics,
        command: (!resolve).then_some(command),
        data: resolve.then(|| json!({"command": offer.command, "argument": offer.argument})),
        ..Default::default()
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
    let data = diagnostic.data.as_ref()?;
    let suggestion = data.get("suggestion")?.as_str()?;
    let reviewed = data.get("reviewed")?.as_str()?;
    let id = data.get("finding")?.as_u64()?;
    let range = review::current_range(session, uri.as_str(), id)?;
    let payload = json!({"uri": uri, "finding": id, "suggestion": suggestion, "reviewed": reviewed, "range": range});
    let edit = if session.support().code_action_resolve {
        None
    } else {
        Some(suggestion_edit(session, &payload).ok()?)
    };
    Some(CodeAction {
        title: "Codex: Apply suggestion".to_string(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        is_preferred: Some(true),
        data: edit.is_none().then_some(json!({"suggestion": payload})),
        edit,
        ..Default::default()
    })
}

/// `codeAction/resolve`: fills in the command or the suggestion's edit.
pub fn resolve(session: &Arc<Session>, mut action: CodeAction) -> Result<CodeAction> {
    let Some(data) = action.data.clone() else {
        return Ok(action);
    };
    if let Some(payload) = data.get("suggestion") {
        match suggestion_edit(session, payload) {
            Ok(edit) => action.edit = Some(edit),
            Err(SuggestionError::Stale) => {
                // Refused: the action comes back without an edit, and the
                // user learns why (from a task: a handler never waits on
                // the client).
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
            Err(err) => return Err(Error::invalid_params(err.to_string())),
        }
    } else if let Some(command) = data.get("command").and_then(Value::as_str) {
        action.command = Some(Command {
            title: action.title.clone(),
            command: command.to_string(),
            arguments: Some(vec![data.get("argument").cloned().unwrap_or(Value::Null)]),
        });
    }
    Ok(action)
}

/// Why a suggestion cannot be applied.
#[derive(Debug, thiserror::Error)]
enum SuggestionError {
    #[error("invalid suggestion data: {0}")]
    Invalid(&'static str),
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
    payload: &Value,
) -> std::result::Result<WorkspaceEdit, SuggestionError> {
    let uri: lsp::Uri = serde_json::from_value(payload.get("uri").cloned().unwrap_or(Value::Null))
        .map_err(|_| SuggestionError::Invalid("uri"))?;
    let offered: lsp::Range =
        serde_json::from_value(payload.get("range").cloned().unwrap_or(Value::Null))
            .map_err(|_| SuggestionError::Invalid("range"))?;
    let field = |name: &'static str| {
        payload
            .get(name)
            .and_then(Value::as_str)
            .ok_or(SuggestionError::Invalid(name))
    };
    let (suggestion, reviewed) = (field("suggestion")?, field("reviewed")?);
    let snapshot = session
        .documents
        .snapshot(uri.as_str())
        .ok_or_else(|| SuggestionError::NotOpen(uri.as_str().to_string()))?;
    let id = payload
        .get("finding")
        .and_then(Value::as_u64)
        .ok_or(SuggestionError::Invalid("finding"))?;
    let range = review::current_range(session, uri.as_str(), id).unwrap_or(offered);
    let lines = snapshot.line_count() as u32;
    let (first, last) = (range.start.line, range.end.line);
    let encoding = session.encoding();
    if first > last
        || last >= lines
        || review::lines_text(&snapshot.text, first, last, encoding) != reviewed
    {
        return Err(SuggestionError::Stale);
    }
    let after = last.saturating_add(1);
    let mut new_text = suggestion.to_string();
    let end = if after < lines {
        if !new_text.ends_with('\n') {
            new_text.push('\n');
        }
        document::Position::new(after, 0)
    } else {
        let text = &snapshot.text;
        document::position(text, text.len_chars(), encoding)
    };
    let range = to_proto::range(document::Range::new(document::Position::new(first, 0), end));
    Ok(WorkspaceEdit {
        changes: Some(HashMap::from([(uri, vec![TextEdit { range, new_text }])])),
        ..Default::default()
    })
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
