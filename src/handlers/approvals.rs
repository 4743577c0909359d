//! Approvals in the editor: a question from the agent becomes a
//! `window/showMessageRequest` with the decisions the request offers. It is
//! sent from the approval's own task (never from a handler). A client that
//! cannot show message requests, or a dismissed request, declines.

use std::future::Future;
use std::pin::Pin;

use tower_lsp_server::Client;
use tower_lsp_server::ls_types::{MessageActionItem, MessageType};

use crate::prompt::approval::{ApprovalDecision, ApprovalQuestion, Approver};

pub struct ClientApprover {
    client: Client,
    can_ask: bool,
}

impl ClientApprover {
    pub fn new(client: Client, can_ask: bool) -> ClientApprover {
        ClientApprover { client, can_ask }
    }
}

impl Approver for ClientApprover {
    fn ask(
        &self,
        question: ApprovalQuestion,
    ) -> Pin<Box<dyn Future<Output = Option<ApprovalDecision>> + Send>> {
        let client = self.client.clone();
        let can_ask = self.can_ask;
        Box::pin(async move {
            if !can_ask {
                tracing::info!("the client cannot show message requests; approval declined");
                return None;
            }
            let actions = question
                .decisions
                .iter()
                .map(|decision| MessageActionItem {
                    title: decision.title().to_string(),
                    properties: Default::default(),
                })
                .collect();
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
