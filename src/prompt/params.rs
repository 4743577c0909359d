//! Parameters and result of a prompt run.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::codex::protocol::{ApprovalPolicy, SandboxMode};

/// The default time a run may take before it is interrupted.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Something the model is given besides the prompt text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptAttachment {
    /// A file mentioned as `@path` in the prompt; the model opens it itself,
    /// so it must exist. `path` is absolute or relative to the run's cwd.
    AtPath {
        path: PathBuf,
        placeholder: String,
    },
    ImageUrl {
        url: String,
    },
    LocalImage {
        path: PathBuf,
    },
    Skill {
        name: String,
        path: PathBuf,
    },
}

/// Everything one run asks of Codex. The defaults are the safe ones: no
/// approvals asked, a read-only sandbox, no privileged escalation.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptRunParams {
    pub cwd: PathBuf,
    pub prompt: String,
    pub model: Option<String>,
    pub effort: Option<String>,
    pub approval_policy: ApprovalPolicy,
    /// The sandbox the thread is started (or resumed) with: the configured
    /// one.
    pub sandbox_policy: SandboxMode,
    /// The sandbox of this run's turn when it differs from the thread's:
    /// edits and reviews run read-only whatever the thread was started with.
    pub turn_sandbox: Option<SandboxMode>,
    /// Only ever true when the user's own configuration asked for
    /// `danger-full-access`; without it that sandbox is refused.
    pub privileged_escalation_approved: bool,
    pub attachments: Vec<PromptAttachment>,
    pub timeout: Duration,
    pub output_schema: Option<Value>,
}

impl PromptRunParams {
    /// Runs this turn read-only, whatever sandbox the thread has.
    pub fn make_turn_read_only(&mut self) {
        self.turn_sandbox = Some(SandboxMode::ReadOnly);
    }

    pub fn new(cwd: PathBuf, prompt: String) -> PromptRunParams {
        PromptRunParams {
            cwd,
            prompt,
            model: None,
            effort: None,
            approval_policy: ApprovalPolicy::Never,
            sandbox_policy: SandboxMode::ReadOnly,
            turn_sandbox: None,
            privileged_escalation_approved: false,
            attachments: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            output_schema: None,
        }
    }
}

/// A successful run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptRunResult {
    pub thread_id: String,
    pub turn_id: String,
    pub assistant_text: String,
}
