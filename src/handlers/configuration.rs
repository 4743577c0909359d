//! Configuration from the client: pushed settings, and pulled
//! `workspace/configuration` (at start and after every change).

use std::time::Duration;

use serde_json::Value;
use tower_lsp_server::ls_types::MessageType;

use crate::config::ConfigError;
use crate::lsp::to_proto;
use crate::session::Session;

/// How long to wait for the client to answer `workspace/configuration`.
const PULL_TIMEOUT: Duration = Duration::from_secs(5);

/// Applies a configuration object and tells the user about rejected values.
pub async fn apply(session: &Session, value: &Value) {
    report(session, session.apply_config(value)).await;
}

/// Tells the user about each rejected value, naming its field.
pub async fn report(session: &Session, errors: Vec<ConfigError>) {
    for error in errors {
        tracing::warn!("{error}");
        session
            .client
            .show_message(MessageType::WARNING, error.to_string())
            .await;
    }
}

/// Pulls the `codex` section. Runs on its own task: a request to the client
/// must never be awaited inside a handler.
pub async fn pull(session: &Session) {
    let items = to_proto::configuration_items();
    match tokio::time::timeout(PULL_TIMEOUT, session.client.configuration(items)).await {
        Ok(Ok(values)) => {
            if let Some(value) = values.into_iter().next() {
                apply(session, &value).await;
            }
        }
        Ok(Err(err)) => tracing::warn!("workspace/configuration failed: {err}"),
        Err(_) => tracing::warn!(
            "the client did not answer workspace/configuration within {PULL_TIMEOUT:?}"
        ),
    }
}
