//! The `LanguageServer` implementation: one line per method, delegating to
//! `handlers`.

use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionParams, CodeActionResponse, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidChangeWorkspaceFoldersParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, ExecuteCommandParams, InitializeParams, InitializeResult,
    InitializedParams, WorkDoneProgressCancelParams,
};
use tower_lsp_server::{Client, LanguageServer};

use crate::codex::Launcher;
use crate::handlers::{code_action, execute_command, lifecycle, text_document};
use crate::lsp::from_proto;
use crate::session::Session;

pub struct Server {
    session: Arc<Session>,
}

impl Server {
    pub fn new(client: Client, launcher: Arc<dyn Launcher>) -> Server {
        Server {
            session: Arc::new(Session::new(client, launcher)),
        }
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// `window/workDoneProgress/cancel`: interrupts the run on that token.
    pub async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        let key = from_proto::token_key(&params.token);
        self.session.runs.cancel_where(|run| run.token_key == key);
    }
}

impl LanguageServer for Server {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        Ok(lifecycle::initialize(&self.session, params))
    }

    async fn initialized(&self, _: InitializedParams) {
        lifecycle::initialized(&self.session)
    }

    async fn shutdown(&self) -> Result<()> {
        lifecycle::shutdown(&self.session).await;
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        text_document::did_open(&self.session, params)
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        text_document::did_change(&self.session, params).await
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        text_document::did_close(&self.session, params).await
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        lifecycle::did_change_configuration(&self.session, params).await
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        lifecycle::did_change_workspace_folders(&self.session, params)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(code_action::code_action(&self.session, params))
    }

    async fn code_action_resolve(&self, params: CodeAction) -> Result<CodeAction> {
        code_action::resolve(&self.session, params)
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        execute_command::execute_command(&self.session, params).await
    }
}
