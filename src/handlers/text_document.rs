//! Document synchronisation. Each handler applies its change to the store
//! before its first `.await`, so edits apply in arrival order even though
//! tower-lsp-server runs handlers concurrently.

use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, MessageType,
};

use crate::lsp::from_proto;
use crate::session::Session;

use super::diagnostics;

pub fn did_open(session: &Session, params: DidOpenTextDocumentParams) {
    let document = params.text_document;
    session.documents.open(
        document.uri.as_str(),
        &document.text,
        document.version,
        &document.language_id,
    );
}

pub async fn did_change(session: &Session, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let changes = params
        .content_changes
        .into_iter()
        .map(from_proto::text_change)
        .collect();
    let applied = session.documents.apply_changes(
        uri.as_str(),
        params.text_document.version,
        changes,
        session.encoding(),
    );
    if let Err(err) = applied {
        tracing::warn!("didChange for {}: {err}", uri.as_str());
        session
            .client
            .log_message(
                MessageType::WARNING,
                format!("codex-ls ignored a change: {err}"),
            )
            .await;
    }
}

pub async fn did_close(session: &Session, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    session.documents.close(uri.as_str());
    session.threads.remove(uri.as_str());
    if session
        .runs
        .list()
        .iter()
        .all(|run| run.document != uri.as_str())
    {
        session.document_locks.remove(uri.as_str());
    }
    diagnostics::clear(session, &uri).await;
}
