//! Approvals in the editor: a question from the agent becomes a typed
//! `codex/requestApproval` for clients that declared they take it, else a
//! `window/showMessageRequest` with the decisions the request offers. It is
//! sent from the approval's own task (never from a handler). A client that
//! cannot show message requests, or a dismissed request, declines; a
//! request declined because the client cannot ask is recorded for the run
//! (its end message and answer say so) and logged with `window/logMessage`,
//! so the user of such an editor learns why the agent could not go on.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tower_lsp_server::Client;
use tower_lsp_server::ls_types::MessageType;

use crate::lsp::{ext, from_proto, to_proto};
use crate::prompt::approval::{ApprovalDecision, ApprovalQuestion, Approver};

/// The requests of one run that were declined without asking, in order,
/// each as one line for the user.
#[derive(Debug, Clone, Default)]
pub struct DeclinedUnasked {
    notes: Arc<Mutex<Vec<String>>>,
}

impl DeclinedUnasked {
    fn record(&self, note: String) {
        // A poisoned lock only means another recorder panicked mid-push;
        // the notes are still plain strings.
        let mut notes = self.notes.lock().unwrap_or_else(|err| err.into_inner());
        notes.push(note);
    }

    /// The notes recorded so far.
    pub fn notes(&self) -> Vec<String> {
        self.notes
            .lock()
            .unwrap_or_else(|err| err.into_inner())
            .clone()
    }
}

/// How the client is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskWith {
    /// `codex/requestApproval` for run `run_id`.
    TypedRequest { run_id: u64 },
    /// `window/showMessageRequest`.
    MessageRequest,
    /// The client cannot be asked.
    Nothing,
}

pub struct ClientApprover {
    client: Client,
    ask_with: AskWith,
    declined: DeclinedUnasked,
}

impl ClientApprover {
    pub fn new(client: Client, ask_with: AskWith, declined: DeclinedUnasked) -> ClientApprover {
        ClientApprover {
            client,
            ask_with,
            declined,
        }
    }
}

impl Approver for ClientApprover {
    fn ask(
        &self,
        question: ApprovalQuestion,
    ) -> Pin<Box<dyn Future<Output = Option<ApprovalDecision>> + Send>> {
        let client = self.client.clone();
        let ask_with = self.ask_with;
        let declined = self.declined.clone();
        Box::pin(async move {
            if let AskWith::TypedRequest { run_id } = ask_with {
                return ask_typed(&client, run_id, &question).await;
            }
            if ask_with == AskWith::Nothing {
                tracing::info!("the client cannot show message requests; approval declined");
                let note = question.declined_unasked();
                declined.record(note.clone());
                client.log_message(MessageType::WARNING, note).await;
                return None;
            }
            let titles = question.decisions.iter().map(|decision| decision.title());
            let actions = to_proto::message_actions(titles);
            let answer = client
                .show_message_request(MessageType::WARNING, question.message(), Some(actions))
                .await;
            match answer {
                Ok(Some(item)) => question
                    .decisions
                    .iter()
                    .copied()
                    .find(|decision| decision.title() == item.title),
                Ok(None) => None,
                Err(err) => {
                    tracing::warn!("window/showMessageRequest failed: {err}");
                    None
                }
            }
        })
    }

    fn refused(&self, message: String) {
        let client = self.client.clone();
        tokio::spawn(async move {
            client.show_message(MessageType::WARNING, message).await;
        });
    }
}

/// Asks with `codex/requestApproval`; an error answer or `null` declines.
async fn ask_typed(
    client: &Client,
    run_id: u64,
    question: &ApprovalQuestion,
) -> Option<ApprovalDecision> {
    let request = to_proto::approval_request(run_id, question);
    match client.send_request::<ext::RequestApproval>(request).await {
        Ok(answer) => answer.map(|answer| from_proto::approval_decision(answer.decision)),
        Err(err) => {
            tracing::warn!("codex/requestApproval failed: {err}");
            None
        }
    }
}
