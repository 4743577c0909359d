//! The server's shared state: documents, configuration, client
//! capabilities, the app-server supervisor, runs in flight, conversations
//! and our failure diagnostics.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use dashmap::DashMap;
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::Diagnostic;

use crate::codex::{Launcher, Supervisor};
use crate::config::Config;
use crate::document::{DocumentStore, PositionEncoding};
use crate::prompt::Conversations;
use crate::runs::RunRegistry;

/// What the client said it can do, as far as we care.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientSupport {
    pub work_done_progress: bool,
    pub show_document: bool,
    pub configuration: bool,
    /// `window/showMessageRequest` (approvals).
    pub show_message_request: bool,
    /// `codex/requestApproval` (`experimental.codex.approvals`): approvals
    /// as typed requests instead of message requests.
    pub typed_approvals: bool,
    /// `workspace/applyEdit` (edit runs).
    pub apply_edit: bool,
    /// `WorkspaceEdit.documentChanges` (versioned edits).
    pub document_changes: bool,
    /// `changeAnnotations` with `needsConfirmation` (edit previews).
    pub change_annotations: bool,
    /// `resourceOperations` with `create` (the no-op create a preview asks to confirm).
    pub create_files: bool,
    /// Properties a `codeAction/resolve` may fill in.
    pub code_action_resolve: bool,
}

pub struct Session {
    pub client: Client,
    pub documents: DocumentStore,
    pub supervisor: Arc<Supervisor>,
    pub runs: RunRegistry,
    /// The thread each conversation (a document, or a workspace) continues,
    /// and its runs taking turns.
    pub conversations: Conversations,
    /// Failure diagnostics we published, per document.
    /// Failure diagnostics we published, per document, with the run that
    /// published each.
    pub failures: DashMap<String, Vec<(u64, Diagnostic)>>,
    /// Review findings we published, per document (`source: codex-review`).
    pub reviews: DashMap<String, Vec<Diagnostic>>,
    /// Preview runs' edits waiting for `codex.applyProposal`.
    pub proposals: crate::handlers::proposal::Proposals,
    encoding: RwLock<PositionEncoding>,
    config: RwLock<Config>,
    support: RwLock<ClientSupport>,
    workspace_folders: RwLock<Vec<PathBuf>>,
    version_warned: AtomicBool,
    /// False while the first `workspace/configuration` pull is in flight:
    /// runs wait for it, so the first run uses the user's settings.
    config_ready: tokio::sync::watch::Sender<bool>,
    /// Errors in `initializationOptions`, shown once the client is ready.
    deferred_config_errors: std::sync::Mutex<Vec<crate::config::ConfigError>>,
}

impl Session {
    pub fn new(client: Client, launcher: Arc<dyn Launcher>) -> Session {
        Session {
            client,
            documents: DocumentStore::default(),
            supervisor: Arc::new(Supervisor::new(launcher, env!("CARGO_PKG_VERSION"))),
            runs: RunRegistry::default(),
            conversations: Conversations::default(),
            failures: DashMap::new(),
            reviews: DashMap::new(),
            proposals: Default::default(),
            encoding: RwLock::new(PositionEncoding::Utf16),
            config: RwLock::new(Config::default()),
            support: RwLock::new(ClientSupport::default()),
            workspace_folders: RwLock::new(Vec::new()),
            version_warned: AtomicBool::new(false),
            config_ready: tokio::sync::watch::Sender::new(true),
            deferred_config_errors: std::sync::Mutex::new(Vec::new()),
        }
    }

    pub fn encoding(&self) -> PositionEncoding {
        *read(&self.encoding)
    }

    pub fn set_encoding(&self, encoding: PositionEncoding) {
        *write(&self.encoding) = encoding;
    }

    pub fn config(&self) -> Config {
        read(&self.config).clone()
    }

    /// Applies a configuration object; returns the rejected fields.
    pub fn apply_config(&self, value: &serde_json::Value) -> Vec<crate::config::ConfigError> {
        write(&self.config).apply(value)
    }

    pub fn support(&self) -> ClientSupport {
        *read(&self.support)
    }

    pub fn set_support(&self, support: ClientSupport) {
        *write(&self.support) = support;
    }

    pub fn workspace_folders(&self) -> Vec<PathBuf> {
        read(&self.workspace_folders).clone()
    }

    pub fn set_workspace_folders(&self, folders: Vec<PathBuf>) {
        *write(&self.workspace_folders) = folders;
    }

    pub fn update_workspace_folders(&self, added: Vec<PathBuf>, removed: &[PathBuf]) {
        let mut folders = write(&self.workspace_folders);
        folders.retain(|folder| !removed.contains(folder));
        folders.extend(added);
    }

    /// Marks the configuration as on its way from the client (or arrived).
    pub fn set_config_ready(&self, ready: bool) {
        self.config_ready.send_replace(ready);
    }

    /// Waits until the first configuration pull is done, at most `limit`.
    pub async fn config_ready(&self, limit: std::time::Duration) {
        let mut ready = self.config_ready.subscribe();
        let _ = tokio::time::timeout(limit, ready.wait_for(|ready| *ready)).await;
    }

    /// What the user should know about the Codex CLI found, when its
    /// version is outside the range codex-ls is tested with.
    pub fn untested_version_notice(&self) -> Option<String> {
        crate::codex::version::notice(&self.supervisor.status().version?)
    }

    /// True the first time it is called: the version warning is shown once.
    pub fn take_version_warning(&self) -> bool {
        !self.version_warned.swap(true, Ordering::SeqCst)
    }

    pub fn defer_config_errors(&self, errors: Vec<crate::config::ConfigError>) {
        self.deferred_config_errors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend(errors);
    }

    pub fn take_deferred_config_errors(&self) -> Vec<crate::config::ConfigError> {
        let mut errors = self
            .deferred_config_errors
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut *errors)
    }
}

// A poisoned lock only means a panic elsewhere mid-write of a plain value;
// the value is still usable.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
