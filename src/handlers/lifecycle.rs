//! initialize, initialized, shutdown, and workspace folders.

use std::path::PathBuf;
use std::sync::Arc;

use tower_lsp_server::ls_types::{
    DidChangeConfigurationParams, DidChangeWorkspaceFoldersParams, InitializeParams,
    InitializeResult, WorkspaceFolder,
};

use crate::config::Config;
use crate::lsp::{from_proto, to_proto};
use crate::session::{ClientSupport, Session};

use super::configuration;

pub fn initialize(session: &Session, params: InitializeParams) -> InitializeResult {
    let capabilities = &params.capabilities;
    let encoding = from_proto::position_encoding(capabilities);
    session.set_encoding(encoding);
    let window = capabilities.window.as_ref();
    let workspace = capabilities.workspace.as_ref();
    session.set_support(ClientSupport {
        work_done_progress: window.and_then(|w| w.work_done_progress).unwrap_or(false),
        show_document: window
            .and_then(|w| w.show_document.as_ref())
            .is_some_and(|show| show.support),
        configuration: workspace.and_then(|w| w.configuration).unwrap_or(false),
        show_message_request: window.is_some_and(|w| w.show_message.is_some()),
        typed_approvals: from_proto::typed_approvals(capabilities),
        apply_edit: workspace.and_then(|w| w.apply_edit).unwrap_or(false),
        document_changes: workspace
            .and_then(|w| w.workspace_edit.as_ref())
            .and_then(|edit| edit.document_changes)
            .unwrap_or(false),
        change_annotations: workspace
            .and_then(|w| w.workspace_edit.as_ref())
            .is_some_and(|edit| edit.change_annotation_support.is_some()),
        create_files: workspace
            .and_then(|w| w.workspace_edit.as_ref())
            .and_then(|edit| edit.resource_operations.as_ref())
            .is_some_and(|ops| {
                ops.contains(&tower_lsp_server::ls_types::ResourceOperationKind::Create)
            }),
        code_action_resolve: capabilities
            .text_document
            .as_ref()
            .and_then(|text| text.code_action.as_ref())
            .and_then(|action| action.resolve_support.as_ref())
            .is_some_and(|resolve| resolve.properties.iter().any(|p| p == "command")),
    });
    session.set_workspace_folders(initial_folders(&params));
    // Runs wait for the pull that `initialized` starts.
    session.set_config_ready(!session.support().configuration);
    if let Some(options) = &params.initialization_options {
        // Errors in initializationOptions are reported once `initialized`
        // arrives: the client may not show messages before that.
        let errors = session.apply_config(Config::section(options));
        session.defer_config_errors(errors);
    }
    to_proto::initialize_result(encoding, super::code_action::kinds())
}

#[allow(deprecated)] // root_uri: still the only root some clients send
fn initial_folders(params: &InitializeParams) -> Vec<PathBuf> {
    match &params.workspace_folders {
        Some(folders) => folders.iter().filter_map(folder_path).collect(),
        None => params
            .root_uri
            .as_ref()
            .and_then(from_proto::file_path)
            .into_iter()
            .collect(),
    }
}

fn folder_path(folder: &WorkspaceFolder) -> Option<PathBuf> {
    from_proto::file_path(&folder.uri)
}

pub fn initialized(session: &Arc<Session>) {
    // Off the startup path: snapshots left by a codex-ls that crashed.
    tokio::task::spawn_blocking(|| {
        let removed = crate::prompt::snapshot::remove_stale(&std::env::temp_dir());
        if removed > 0 {
            tracing::info!("removed {removed} snapshot directories left by a crashed codex-ls");
        }
    });
    let deferred = session.take_deferred_config_errors();
    if !deferred.is_empty() {
        let session = session.clone();
        tokio::spawn(async move { configuration::report(&session, deferred).await });
    }
    if session.support().configuration {
        let session = session.clone();
        tokio::spawn(async move {
            configuration::pull(&session).await;
            session.set_config_ready(true);
        });
    }
}

pub async fn did_change_configuration(
    session: &Arc<Session>,
    params: DidChangeConfigurationParams,
) {
    if session.support().configuration {
        let session = session.clone();
        tokio::spawn(async move { configuration::pull(&session).await });
    } else {
        configuration::apply(session, Config::section(&params.settings)).await;
    }
}

pub fn did_change_workspace_folders(session: &Session, params: DidChangeWorkspaceFoldersParams) {
    let added = params.event.added.iter().filter_map(folder_path).collect();
    let removed: Vec<PathBuf> = params
        .event
        .removed
        .iter()
        .filter_map(folder_path)
        .collect();
    session.update_workspace_folders(added, &removed);
}

/// Cancels every run and takes the app-server and its whole process tree
/// down.
pub async fn shutdown(session: &Session) {
    session.runs.cancel_all();
    session.supervisor.shutdown().await;
}
