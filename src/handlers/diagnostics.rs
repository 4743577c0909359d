//! Our failure diagnostics: published on the document a failed run came
//! from, cleared by a later successful run on it and by closing it. They are
//! ours alone; nothing else publishes under this server.

use tower_lsp_server::ls_types::{Diagnostic, Uri};

use crate::session::Session;

/// Adds `diagnostic` to the document's failures and publishes them.
pub async fn publish_failure(session: &Session, uri: &Uri, diagnostic: Diagnostic) {
    let all = {
        let mut failures = session
            .failures
            .entry(uri.as_str().to_string())
            .or_default();
        failures.push(diagnostic);
        failures.clone()
    };
    let version = session
        .documents
        .snapshot(uri.as_str())
        .map(|document| document.version);
    session
        .client
        .publish_diagnostics(uri.clone(), all, version)
        .await;
}

/// Clears the document's failures, if it has any.
pub async fn clear(session: &Session, uri: &Uri) {
    if session.failures.remove(uri.as_str()).is_some() {
        session
            .client
            .publish_diagnostics(uri.clone(), Vec::new(), None)
            .await;
    }
}
