//! Document synchronisation. Each handler applies its change to the store
//! before its first `.await`, so edits apply in arrival order even though
//! tower-lsp-server runs handlers concurrently. The store moves the ranges
//! that follow the text (edit runs' selections) as it applies a change;
//! review findings are moved (or dropped) here and republished.

use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams, MessageType,
};

use crate::lsp::from_proto;
use crate::session::Session;

use super::{diagnostics, review};

/// A message carrying at least this much text is followed by a heap trim.
const TRIM_AFTER_BYTES: usize = 1 << 20;

pub fn did_open(session: &Session, params: DidOpenTextDocumentParams) {
    let document = params.text_document;
    session.documents.open(
        document.uri.as_str(),
        &document.text,
        document.version,
        &document.language_id,
    );
    let big = document.text.len() >= TRIM_AFTER_BYTES;
    drop(document);
    if big {
        release_freed_memory();
    }
}

pub async fn did_change(session: &Session, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let bytes: usize = params.content_changes.iter().map(|c| c.text.len()).sum();
    let changes = params
        .content_changes
        .into_iter()
        .map(from_proto::text_change)
        .collect();
    // Review findings move with the text: they need the text the changes
    // applied to. Taking it and applying the changes happen before the
    // first `.await`, so no other change comes between.
    let before = session
        .reviews
        .contains_key(uri.as_str())
        .then(|| session.documents.snapshot(uri.as_str()))
        .flatten();
    let applied = session.documents.apply_changes_recorded(
        uri.as_str(),
        params.text_document.version,
        changes,
        session.encoding(),
    );
    if bytes >= TRIM_AFTER_BYTES {
        release_freed_memory();
    }
    if let Some(before) = before
        && let Ok(changes) = applied.as_ref()
        && let Some(after) = session.documents.snapshot(uri.as_str())
        && review::follow_changes(session, uri.as_str(), &before.text, &after.text, changes)
    {
        diagnostics::publish(session, &uri).await;
    }
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
    session.conversations.document_closed(uri.as_str());
    session.proposals.document_closed(uri.as_str());
    diagnostics::forget(session, &uri).await;
}

/// Gives the heap's free pages back to the OS after a big message.
///
/// Decoding a message of n bytes makes the transport allocate several
/// buffers of about n (the UTF-8 body, serde_json's scratch, serde's
/// buffered copy for the untagged message enum, the `Value`), and we drop the
/// text after copying it into the rope. Once glibc has seen buffers that big
/// come and go, it raises its mmap threshold past them, so they come from
/// and return to its heap, where they stay resident: about one more copy of
/// the document for as long as the process lives. `malloc_trim` returns the
/// free pages; it costs about a millisecond, once per big message.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only releases free memory.
    unsafe {
        libc::malloc_trim(0);
    }
}
