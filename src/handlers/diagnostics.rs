//! Our diagnostics on a document, from two sources kept apart: failures of
//! runs (`source: "codex"`, including what a run reports without failing:
//! an edit that could not land, an agent change that did not merge), at most
//! one per document (the latest replaces the earlier one, so repeated
//! failures never pile up), cleared by a later successful run and by closing
//! the document; and review findings (`source: "codex-review"`),
//! replaced by the next review of the same lines and cleared by
//! `codex.clearReview` or closing the document. One publish carries both,
//! since a publish replaces everything this server said about the document.

use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::ls_types::{Diagnostic, MessageType, Uri};

use crate::session::Session;

/// Makes `diagnostic`, published by run `run_id`, the document's failure
/// diagnostic (replacing the one before: the latest says what matters now)
/// and publishes.
pub async fn publish_failure(session: &Session, uri: &Uri, run_id: u64, diagnostic: Diagnostic) {
    session
        .failures
        .insert(uri.as_str().to_string(), vec![(run_id, diagnostic)]);
    publish(session, uri).await;
}

/// What a failure's help action explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureHelp {
    /// `unauthorized`: how to sign in.
    SignIn,
    /// `backend-unavailable`: where the Codex CLI is configured.
    Settings,
}

/// `codex.signInHelp` and `codex.openSettings` for clients whose plugin does
/// not map them to something of its own: the advice in `window/showMessage`,
/// sent from a task so the command answers at once.
pub fn show_help(session: &Arc<Session>, help: FailureHelp) -> Value {
    let message = match help {
        FailureHelp::SignIn => "Codex: the model service rejected the credentials. Run `codex login` in a terminal (or `codex login --with-api-key` with an API key on stdin), then retry the run (Codex: Retry).".to_string(),
        FailureHelp::Settings => format!(
            "Codex: codex-ls runs the Codex CLI at `codexPath` (now `{}`). Install it with `npm install -g @openai/codex`, or set `codexPath` in codex-ls's settings (initializationOptions or the `codex` settings section of your editor's LSP configuration) to the `codex` binary, then retry the run.",
            session.config().codex_path
        ),
    };
    let session = session.clone();
    tokio::spawn(async move {
        session
            .client
            .show_message(MessageType::INFO, message)
            .await;
    });
    Value::Null
}

/// Clears the document's failures from runs before `run_id`, which has
/// succeeded; what `run_id` itself reported stays.
pub async fn clear_earlier(session: &Session, uri: &Uri, run_id: u64) {
    let cleared = session
        .failures
        .get_mut(uri.as_str())
        .is_some_and(|mut failures| {
            let before = failures.len();
            failures.retain(|(from, _)| *from == run_id);
            failures.len() < before
        });
    if cleared {
        publish(session, uri).await;
    }
}

/// Replaces the review findings on lines `first..=last` (0-based) with
/// `findings` and publishes.
pub async fn replace_review(
    session: &Session,
    uri: &Uri,
    lines: (u32, u32),
    findings: Vec<Diagnostic>,
) {
    {
        let mut reviews = session.reviews.entry(uri.as_str().to_string()).or_default();
        reviews.retain(|old| old.range.end.line < lines.0 || old.range.start.line > lines.1);
        reviews.extend(findings);
    }
    publish(session, uri).await;
}

/// Clears the document's review findings; returns how many there were.
/// The publish goes on in a task of its own, so a command can answer at
/// once.
pub fn clear_review(session: &Arc<Session>, uri: &Uri) -> usize {
    let cleared = session
        .reviews
        .remove(uri.as_str())
        .map_or(0, |(_, findings)| findings.len());
    if cleared > 0 {
        let (session, uri) = (session.clone(), uri.clone());
        tokio::spawn(async move { publish(&session, &uri).await });
    }
    cleared
}

/// Forgets everything about a closed document and clears what we showed.
pub async fn forget(session: &Session, uri: &Uri) {
    let had_failures = session.failures.remove(uri.as_str()).is_some();
    let had_reviews = session.reviews.remove(uri.as_str()).is_some();
    if had_failures || had_reviews {
        session
            .client
            .publish_diagnostics(uri.clone(), Vec::new(), None)
            .await;
    }
}

pub async fn publish(session: &Session, uri: &Uri) {
    let mut all: Vec<Diagnostic> = session
        .failures
        .get(uri.as_str())
        .map(|failures| {
            failures
                .iter()
                .map(|(_, diagnostic)| diagnostic.clone())
                .collect()
        })
        .unwrap_or_default();
    if let Some(reviews) = session.reviews.get(uri.as_str()) {
        all.extend(reviews.iter().cloned());
    }
    let version = session
        .documents
        .snapshot(uri.as_str())
        .map(|document| document.version);
    session
        .client
        .publish_diagnostics(uri.clone(), all, version)
        .await;
}
