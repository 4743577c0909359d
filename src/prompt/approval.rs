//! Approvals: what the agent asks to do (run a command, change files, get
//! more permissions), put to the user through an [`Approver`], and answered
//! to the app-server. Fail closed: no answer, a timeout, a cancelled run or
//! an approver that cannot ask all decline. Privileged escalation (more
//! sandbox permissions, write access to a new root) is refused without
//! asking unless the configuration allows it.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::codex::connection::ServerRequest;
use crate::codex::protocol::{
    COMMAND_APPROVAL, CommandApprovalParams, FILE_CHANGE_APPROVAL, FileChangeApprovalParams,
    FileChangeItem, FileUpdateChange, PERMISSIONS_APPROVAL, PatchChangeKind,
    PermissionsApprovalParams,
};

/// The configuration flag that privileged escalation needs.
pub const ESCALATION_FLAG: &str = "allowPrivilegedEscalation";

/// A decision the user can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalDecision {
    Accept,
    AcceptForSession,
    Decline,
}

impl ApprovalDecision {
    pub fn title(self) -> &'static str {
        match self {
            ApprovalDecision::Accept => "Accept",
            ApprovalDecision::AcceptForSession => "Accept for session",
            ApprovalDecision::Decline => "Decline",
        }
    }

    pub fn wire(self) -> &'static str {
        match self {
            ApprovalDecision::Accept => "accept",
            ApprovalDecision::AcceptForSession => "acceptForSession",
            ApprovalDecision::Decline => "decline",
        }
    }

    pub fn from_wire(value: &Value) -> Option<ApprovalDecision> {
        match value.as_str()? {
            "accept" => Some(ApprovalDecision::Accept),
            "acceptForSession" => Some(ApprovalDecision::AcceptForSession),
            "decline" => Some(ApprovalDecision::Decline),
            _ => None,
        }
    }
}

/// What is being approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalSubject {
    Command {
        command: String,
        cwd: Option<String>,
    },
    FileChange {
        files: Vec<FileSummary>,
    },
    Permissions {
        summary: String,
    },
}

/// One file of a proposed change, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub path: String,
    pub kind: String,
    pub added: usize,
    pub removed: usize,
    /// A unified diff for `update`, the content for `add` and `delete`.
    pub diff: String,
}

/// A question for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalQuestion {
    pub subject: ApprovalSubject,
    pub reason: Option<String>,
    /// The decisions the request offers, in display order; always includes
    /// `Decline`.
    pub decisions: Vec<ApprovalDecision>,
}

impl ApprovalQuestion {
    /// The question in one line, without its details.
    pub fn title(&self) -> &'static str {
        match &self.subject {
            ApprovalSubject::Command { .. } => "Codex wants to run a command",
            ApprovalSubject::FileChange { .. } => "Codex wants to change files",
            ApprovalSubject::Permissions { .. } => "Codex wants more permissions",
        }
    }

    /// The text shown to the user: what, where, and why.
    pub fn message(&self) -> String {
        let mut message = match &self.subject {
            ApprovalSubject::Command { command, cwd } => {
                let mut text = format!("Codex wants to run a command:\n{command}");
                if let Some(cwd) = cwd {
                    text.push_str(&format!("\nin {cwd}"));
                }
                text
            }
            ApprovalSubject::FileChange { files } if files.is_empty() => {
                "Codex wants to change files".to_string()
            }
            ApprovalSubject::FileChange { files } => {
                let mut text = "Codex wants to change files:".to_string();
                for file in files {
                    text.push_str(&format!(
                        "\n{} {} (+{} -{})",
                        file.kind, file.path, file.added, file.removed
                    ));
                }
                text
            }
            ApprovalSubject::Permissions { summary } => {
                format!("Codex wants more permissions:\n{summary}")
            }
        };
        if let Some(reason) = self.reason.as_deref().filter(|reason| !reason.is_empty()) {
            message.push_str(&format!("\nReason: {reason}"));
        }
        message
    }

    /// One line for a request declined because the editor cannot ask the
    /// user: the run's end message and answer carry it, so a user of such an
    /// editor learns why the agent could not do what it tried.
    pub fn declined_unasked(&self) -> String {
        let what = match &self.subject {
            ApprovalSubject::Command { command, .. } => {
                // A multi-line script reads as one line in a status bar.
                let command = command.split_whitespace().collect::<Vec<_>>().join(" ");
                format!("to run `{command}`")
            }
            ApprovalSubject::FileChange { files } if files.is_empty() => {
                "to change files".to_string()
            }
            ApprovalSubject::FileChange { files } => {
                let paths: Vec<&str> = files.iter().map(|file| file.path.as_str()).collect();
                format!("to change {}", paths.join(", "))
            }
            ApprovalSubject::Permissions { .. } => "for more permissions".to_string(),
        };
        format!("Codex asked {what}; declined because this editor cannot show approval prompts")
    }
}

/// Asks the user. `None` means no answer (dismissed, or the client cannot
/// ask); it declines.
pub trait Approver: Send + Sync {
    fn ask(
        &self,
        question: ApprovalQuestion,
    ) -> Pin<Box<dyn Future<Output = Option<ApprovalDecision>> + Send>>;

    /// Told when a request is refused without asking, e.g. privileged
    /// escalation that the configuration does not allow.
    fn refused(&self, message: String);
}

/// How a run handles approvals.
#[derive(Clone)]
pub struct ApprovalSettings {
    pub approver: Option<Arc<dyn Approver>>,
    pub timeout: Duration,
    pub allow_privileged_escalation: bool,
}

impl Default for ApprovalSettings {
    fn default() -> ApprovalSettings {
        ApprovalSettings {
            approver: None,
            timeout: Duration::from_secs(300),
            allow_privileged_escalation: false,
        }
    }
}

impl std::fmt::Debug for ApprovalSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalSettings")
            .field("approver", &self.approver.is_some())
            .field("timeout", &self.timeout)
            .field(
                "allow_privileged_escalation",
                &self.allow_privileged_escalation,
            )
            .finish()
    }
}

/// The file changes the turn has proposed so far, by item id, so a
/// file-change approval can show what it approves.
#[derive(Debug, Default)]
pub struct ProposedChanges {
    by_item: HashMap<String, Vec<FileSummary>>,
}

impl ProposedChanges {
    /// Records a `fileChange` item's files.
    pub fn record(&mut self, item: &FileChangeItem) {
        let files = item.changes.iter().map(summarize_change).collect();
        self.by_item.insert(item.id.clone(), files);
    }

    fn files(&self, item_id: &str) -> Vec<FileSummary> {
        self.by_item.get(item_id).cloned().unwrap_or_default()
    }
}

/// A file's kind and line counts: an `add` carries the whole new content, a
/// `delete` the whole old content, an `update` a unified diff.
fn summarize_change(change: &FileUpdateChange) -> FileSummary {
    let lines = change.diff.lines().count();
    let (kind, added, removed) = match &change.kind {
        PatchChangeKind::Add => ("add", lines, 0),
        PatchChangeKind::Delete => ("delete", 0, lines),
        PatchChangeKind::Update { .. } | PatchChangeKind::Unknown => {
            // Hunk lines only: the diff has no file headers, and the
            // `Moved to:` line of a move starts with neither sign.
            let count = |sign: char| {
                let lines = change.diff.lines();
                lines.filter(|line| line.starts_with(sign)).count()
            };
            ("update", count('+'), count('-'))
        }
    };
    FileSummary {
        path: change.path.clone(),
        kind: kind.to_string(),
        added,
        removed,
        diff: change.diff.clone(),
    }
}

/// Answers one request from the app-server, asking the user when the
/// request is one we put to them. Runs on its own task: the turn goes on
/// streaming (and can be cancelled) while the user thinks. `cancel` ends the
/// wait with a decline.
pub async fn answer(
    request: ServerRequest,
    settings: ApprovalSettings,
    changes: Vec<FileSummary>,
    cancel: CancellationToken,
) {
    let question = match question_for(&request, &settings, changes) {
        Ok(question) => question,
        Err(Refusal { message, result }) => {
            tracing::info!("refused codex request `{}`", request.method);
            if let Some(approver) = &settings.approver {
                approver.refused(message);
            }
            request.respond(result);
            return;
        }
    };
    let Some(approver) = settings.approver.clone() else {
        // Dropping the request declines it.
        return;
    };
    let decision = tokio::select! {
        decision = approver.ask(question.clone()) => decision,
        () = tokio::time::sleep(settings.timeout) => {
            tracing::info!("nobody answered an approval within {:?}; declined", settings.timeout);
            None
        }
        () = cancel.cancelled() => None,
    };
    let decision = decision
        .filter(|decision| question.decisions.contains(decision))
        .unwrap_or(ApprovalDecision::Decline);
    tracing::info!("approval `{}`: {}", request.method, decision.wire());
    let result = result_for(&request, decision);
    request.respond(result);
}

/// The file summaries for a file-change request, from the changes seen.
pub fn changes_for(request: &ServerRequest, proposed: &ProposedChanges) -> Vec<FileSummary> {
    if request.method != FILE_CHANGE_APPROVAL {
        return Vec::new();
    }
    request
        .params
        .get("itemId")
        .and_then(Value::as_str)
        .map(|item_id| proposed.files(item_id))
        .unwrap_or_default()
}

struct Refusal {
    message: String,
    result: Value,
}

fn question_for(
    request: &ServerRequest,
    settings: &ApprovalSettings,
    changes: Vec<FileSummary>,
) -> Result<ApprovalQuestion, Refusal> {
    let decline = || Refusal {
        message: format!("codex-ls does not handle `{}`", request.method),
        result: json!({"decision": "decline"}),
    };
    match request.method.as_str() {
        COMMAND_APPROVAL => {
            let params: CommandApprovalParams = parse(&request.params).ok_or_else(decline)?;
            Ok(ApprovalQuestion {
                subject: ApprovalSubject::Command {
                    command: params
                        .command
                        .unwrap_or_else(|| "(command not given)".to_string()),
                    cwd: params.cwd,
                },
                reason: params.reason,
                decisions: offered(params.available_decisions.as_deref()),
            })
        }
        FILE_CHANGE_APPROVAL => {
            let params: FileChangeApprovalParams = parse(&request.params).ok_or_else(decline)?;
            if let Some(root) = params.grant_root
                && !settings.allow_privileged_escalation
            {
                return Err(Refusal {
                    message: format!(
                        "Codex asked for write access under {root}; refused because `{ESCALATION_FLAG}` is not set in the codex-ls configuration"
                    ),
                    result: json!({"decision": "decline"}),
                });
            }
            Ok(ApprovalQuestion {
                subject: ApprovalSubject::FileChange { files: changes },
                reason: params.reason,
                decisions: offered(None),
            })
        }
        PERMISSIONS_APPROVAL => {
            let params: PermissionsApprovalParams =
                parse(&request.params).ok_or_else(|| Refusal {
                    message: "Codex sent a malformed permissions request; refused".to_string(),
                    result: json!({"permissions": {}}),
                })?;
            if !settings.allow_privileged_escalation {
                return Err(Refusal {
                    message: format!(
                        "Codex asked for more sandbox permissions; refused because `{ESCALATION_FLAG}` is not set in the codex-ls configuration"
                    ),
                    result: json!({"permissions": {}}),
                });
            }
            Ok(ApprovalQuestion {
                subject: ApprovalSubject::Permissions {
                    summary: params.permissions.to_string(),
                },
                reason: params.reason,
                decisions: offered(None),
            })
        }
        _ => Err(decline()),
    }
}

/// The decisions among those the request offers that codex-ls can show.
fn offered(available: Option<&[Value]>) -> Vec<ApprovalDecision> {
    let all = [
        ApprovalDecision::Accept,
        ApprovalDecision::AcceptForSession,
        ApprovalDecision::Decline,
    ];
    let Some(available) = available else {
        return all.to_vec();
    };
    let mut decisions: Vec<ApprovalDecision> = all
        .into_iter()
        .filter(|decision| {
            available
                .iter()
                .any(|offer| ApprovalDecision::from_wire(offer) == Some(*decision))
        })
        .collect();
    if !decisions.contains(&ApprovalDecision::Decline) {
        decisions.push(ApprovalDecision::Decline);
    }
    decisions
}

fn result_for(request: &ServerRequest, decision: ApprovalDecision) -> Value {
    if request.method == PERMISSIONS_APPROVAL {
        let requested = request
            .params
            .get("permissions")
            .cloned()
            .unwrap_or_else(|| json!({}));
        return match decision {
            ApprovalDecision::Decline => json!({"permissions": {}}),
            ApprovalDecision::Accept => json!({"permissions": requested, "scope": "turn"}),
            ApprovalDecision::AcceptForSession => {
                json!({"permissions": requested, "scope": "session"})
            }
        };
    }
    json!({"decision": decision.wire()})
}

fn parse<T: DeserializeOwned>(params: &Value) -> Option<T> {
    T::deserialize(params)
        .inspect_err(|err| {
            tracing::warn!(
                "malformed codex approval request: {}",
                crate::codex::serde_message::without_values(err)
            )
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_question_shows_command_cwd_and_reason() {
        let question = ApprovalQuestion {
            subject: ApprovalSubject::Command {
                command: "cargo test".into(),
                cwd: Some("/p".into()),
            },
            reason: Some("run the tests".into()),
            decisions: offered(Some(&[json!("accept"), json!({"x": 1}), json!("cancel")])),
        };
        assert_eq!(
            question.message(),
            "Codex wants to run a command:\ncargo test\nin /p\nReason: run the tests"
        );
        assert_eq!(
            question.decisions,
            vec![ApprovalDecision::Accept, ApprovalDecision::Decline]
        );
    }

    #[test]
    fn a_request_declined_unasked_names_what_codex_wanted() {
        let command = ApprovalQuestion {
            subject: ApprovalSubject::Command {
                command: "cargo\n  test".into(),
                cwd: Some("/p".into()),
            },
            reason: None,
            decisions: offered(None),
        };
        assert_eq!(
            command.declined_unasked(),
            "Codex asked to run `cargo test`; declined because this editor cannot show approval prompts"
        );
        let files = ApprovalQuestion {
            subject: ApprovalSubject::FileChange {
                files: vec![FileSummary {
                    path: "a.rs".into(),
                    kind: "update".into(),
                    added: 1,
                    removed: 0,
                    diff: "+x\n".into(),
                }],
            },
            reason: None,
            decisions: offered(None),
        };
        assert!(
            files
                .declined_unasked()
                .starts_with("Codex asked to change a.rs; declined")
        );
    }

    #[test]
    fn file_changes_are_summarized_from_the_item() {
        let mut proposed = ProposedChanges::default();
        let item = json!({"id": "i1", "type": "fileChange", "changes": [
            {"path": "a.rs", "kind": {"type": "update", "move_path": null}, "diff": "@@ -1,2 +1,3 @@\n-old\n+new\n+more\n ctx\n"},
            {"path": "b.rs", "kind": "add", "diff": "one\ntwo\n"}
        ]});
        proposed.record(&FileChangeItem::from_item(&item).unwrap().unwrap());
        let files = proposed.files("i1");
        assert_eq!(files[0].path, "a.rs");
        assert_eq!((files[0].added, files[0].removed), (2, 1));
        assert_eq!((files[1].kind.as_str(), files[1].added), ("add", 2));
        assert_eq!(files[1].diff, "one\ntwo\n");
        let question = ApprovalQuestion {
            subject: ApprovalSubject::FileChange { files },
            reason: None,
            decisions: offered(None),
        };
        assert_eq!(
            question.message(),
            "Codex wants to change files:\nupdate a.rs (+2 -1)\nadd b.rs (+2 -0)"
        );
    }
}
