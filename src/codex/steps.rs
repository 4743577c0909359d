//! The agent's steps as the app-server reports them: reasoning summaries,
//! the plan, command executions and their output, web searches, tool calls,
//! token usage and the notices a user should see. Wire types of those
//! notifications and items, and their decoding into [`StepEvent`]s. File
//! changes are decoded by the turn stream itself (a run mirrors them into
//! buffers), and retries are `error` notifications with `willRetry`.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub const REASONING_SUMMARY_DELTA: &str = "item/reasoning/summaryTextDelta";
pub const REASONING_SUMMARY_PART: &str = "item/reasoning/summaryPartAdded";
pub const COMMAND_OUTPUT_DELTA: &str = "item/commandExecution/outputDelta";
pub const PLAN_UPDATED: &str = "turn/plan/updated";
pub const TOKEN_USAGE_UPDATED: &str = "thread/tokenUsage/updated";
pub const MODEL_REROUTED: &str = "model/rerouted";
pub const WARNING: &str = "warning";
pub const CONFIG_WARNING: &str = "configWarning";
pub const DEPRECATION_NOTICE: &str = "deprecationNotice";

/// Notifications codex-ls never reads, suppressed at `initialize`
/// (`optOutNotificationMethods`) so they are neither sent nor decoded: the
/// thread's status (the turn stream says it all), raw reasoning text (the
/// summary is what a user reads), the per-turn aggregated diff and patch
/// streaming (the completed `fileChange` item carries each file's diff),
/// the plan's text deltas (`turn/plan/updated` carries the plan), and
/// the remote-control status.
pub const UNUSED_NOTIFICATIONS: &[&str] = &[
    "thread/status/changed",
    "remoteControl/status/changed",
    "item/reasoning/textDelta",
    "turn/diff/updated",
    "item/plan/delta",
    "item/fileChange/outputDelta",
    "item/fileChange/patchUpdated",
];

/// What the agent did, one notification's worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepEvent {
    /// An item of interest started or completed.
    Item { item: StepItem, completed: bool },
    /// More text of a reasoning summary.
    ReasoningDelta { item_id: String, delta: String },
    /// A reasoning summary starts a new part (a new paragraph).
    ReasoningPart { item_id: String },
    /// More output of a running command.
    CommandOutput { item_id: String, delta: String },
    /// The turn's plan, whole.
    Plan(Vec<PlanStep>),
    /// Tokens of the last model response of the turn.
    Usage(TokenUsage),
    /// Something the user should see once.
    Notice(Notice),
}

/// The items of a turn shown as steps (agent messages are the answer, file
/// changes are decoded apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepItem {
    Reasoning {
        id: String,
        /// The summary's parts, whole (on `item/completed`).
        summary: Vec<String>,
    },
    Command {
        id: String,
        /// The command as the agent wrote it (not the shell wrapper).
        command: String,
        cwd: Option<String>,
        status: ItemStatus,
        exit_code: Option<i64>,
        /// All its output, when codex sends it (on `item/completed`).
        output: Option<String>,
    },
    WebSearch {
        id: String,
        query: String,
    },
    ToolCall {
        id: String,
        /// `server.tool` for MCP tools, the tool's name otherwise.
        name: String,
        status: ItemStatus,
        error: Option<String>,
    },
}

impl StepItem {
    pub fn id(&self) -> &str {
        match self {
            StepItem::Reasoning { id, .. }
            | StepItem::Command { id, .. }
            | StepItem::WebSearch { id, .. }
            | StepItem::ToolCall { id, .. } => id,
        }
    }
}

/// The status of a command, file change or tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

/// One step of the agent's plan.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlanStep {
    pub step: String,
    pub status: PlanStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PlanStatus {
    Pending,
    InProgress,
    Completed,
}

/// Tokens used (`TokenUsageBreakdown`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenUsage {
    pub input_tokens: u64,
    pub cached_input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub total_tokens: u64,
}

impl TokenUsage {
    /// Adds `other` (the turn's responses one after another).
    pub fn add(&mut self, other: &TokenUsage) {
        self.input_tokens += other.input_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.output_tokens += other.output_tokens;
        self.reasoning_output_tokens += other.reasoning_output_tokens;
        self.total_tokens += other.total_tokens;
    }
}

/// A notice for the user: what it is about, in one line, and its details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub summary: String,
    pub details: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    /// codex's configuration has a problem (`configWarning`).
    Config,
    /// Something the user relies on is deprecated (`deprecationNotice`).
    Deprecation,
    /// The turn runs on another model than asked (`model/rerouted`).
    ModelRerouted,
    /// Any other warning (`warning`).
    Warning,
}

impl NoticeKind {
    /// How the notice starts in a step title.
    pub fn label(self) -> &'static str {
        match self {
            NoticeKind::Config => "Config warning",
            NoticeKind::Deprecation => "Deprecated",
            NoticeKind::ModelRerouted => "Model rerouted",
            NoticeKind::Warning => "Warning",
        }
    }
}

/// Whether `method` is a notice that may come outside any thread (at
/// start-up), to be kept for the next run.
pub fn is_global_notice(method: &str) -> bool {
    matches!(method, CONFIG_WARNING | DEPRECATION_NOTICE | WARNING)
}

/// Decodes a step notification; `None` for other methods and for params
/// that do not have the promised shape.
pub fn decode(method: &str, params: &Value) -> Option<StepEvent> {
    match method {
        "item/started" | "item/completed" => {
            let item = decode_item(params.get("item")?)?;
            Some(StepEvent::Item {
                item,
                completed: method == "item/completed",
            })
        }
        REASONING_SUMMARY_DELTA => {
            let delta: ItemDelta = parse(params)?;
            Some(StepEvent::ReasoningDelta {
                item_id: delta.item_id,
                delta: delta.delta,
            })
        }
        REASONING_SUMMARY_PART => {
            let part: ItemRef = parse(params)?;
            Some(StepEvent::ReasoningPart {
                item_id: part.item_id,
            })
        }
        COMMAND_OUTPUT_DELTA => {
            let delta: ItemDelta = parse(params)?;
            Some(StepEvent::CommandOutput {
                item_id: delta.item_id,
                delta: delta.delta,
            })
        }
        PLAN_UPDATED => Some(StepEvent::Plan(parse::<PlanUpdated>(params)?.plan)),
        TOKEN_USAGE_UPDATED => Some(StepEvent::Usage(
            parse::<TokenUsageUpdated>(params)?.token_usage.last,
        )),
        _ => decode_notice(method, params).map(StepEvent::Notice),
    }
}

/// Decodes a notice notification.
pub fn decode_notice(method: &str, params: &Value) -> Option<Notice> {
    match method {
        CONFIG_WARNING | DEPRECATION_NOTICE => {
            let notice: SummaryNotice = parse(params)?;
            let kind = if method == CONFIG_WARNING {
                NoticeKind::Config
            } else {
                NoticeKind::Deprecation
            };
            Some(Notice {
                kind,
                summary: notice.summary,
                details: notice.details.filter(|details| !details.is_empty()),
            })
        }
        MODEL_REROUTED => {
            let rerouted: ModelRerouted = parse(params)?;
            let reason = rerouted.reason.as_str().map(str::to_string);
            Some(Notice {
                kind: NoticeKind::ModelRerouted,
                summary: format!("{} → {}", rerouted.from_model, rerouted.to_model),
                details: reason,
            })
        }
        WARNING => Some(Notice {
            kind: NoticeKind::Warning,
            summary: parse::<WarningNotice>(params)?.message,
            details: None,
        }),
        _ => None,
    }
}

fn decode_item(item: &Value) -> Option<StepItem> {
    match item.get("type").and_then(Value::as_str)? {
        "reasoning" => {
            let reasoning: ReasoningItem = parse(item)?;
            Some(StepItem::Reasoning {
                id: reasoning.id,
                summary: reasoning.summary,
            })
        }
        "commandExecution" => {
            let command: CommandItem = parse(item)?;
            Some(StepItem::Command {
                command: command.display_command(),
                id: command.id,
                cwd: command.cwd.as_str().map(str::to_string),
                status: command.status,
                exit_code: command.exit_code,
                output: command.aggregated_output,
            })
        }
        "webSearch" => {
            let search: WebSearchItem = parse(item)?;
            Some(StepItem::WebSearch {
                id: search.id,
                query: search.query,
            })
        }
        "mcpToolCall" => {
            let call: McpToolCallItem = parse(item)?;
            Some(StepItem::ToolCall {
                id: call.id,
                name: format!("{}.{}", call.server, call.tool),
                status: call.status,
                error: call.error.and_then(|error| error.message),
            })
        }
        "dynamicToolCall" => {
            let call: DynamicToolCallItem = parse(item)?;
            let name = match call.namespace {
                Some(namespace) => format!("{namespace}.{}", call.tool),
                None => call.tool,
            };
            Some(StepItem::ToolCall {
                id: call.id,
                name,
                status: call.status,
                error: None,
            })
        }
        _ => None,
    }
}

fn parse<T: DeserializeOwned>(params: &Value) -> Option<T> {
    match T::deserialize(params) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::warn!(
                "ignoring a malformed codex step: {}",
                super::serde_message::without_values(&err)
            );
            None
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemDelta {
    item_id: String,
    delta: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ItemRef {
    item_id: String,
}

#[derive(Deserialize)]
struct PlanUpdated {
    plan: Vec<PlanStep>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenUsageUpdated {
    token_usage: ThreadTokenUsage,
}

#[derive(Deserialize)]
struct ThreadTokenUsage {
    last: TokenUsage,
}

#[derive(Deserialize)]
struct SummaryNotice {
    summary: String,
    #[serde(default)]
    details: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModelRerouted {
    from_model: String,
    to_model: String,
    #[serde(default)]
    reason: Value,
}

#[derive(Deserialize)]
struct WarningNotice {
    message: String,
}

#[derive(Deserialize)]
struct ReasoningItem {
    id: String,
    #[serde(default)]
    summary: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommandItem {
    id: String,
    command: String,
    #[serde(default)]
    command_actions: Vec<CommandAction>,
    /// A path; kept as sent (codex 0.169 sends a string).
    #[serde(default)]
    cwd: Value,
    status: ItemStatus,
    #[serde(default)]
    exit_code: Option<i64>,
    #[serde(default)]
    aggregated_output: Option<String>,
}

#[derive(Deserialize)]
struct CommandAction {
    #[serde(default)]
    command: Option<String>,
}

impl CommandItem {
    /// The command as the agent wrote it: codex reports the shell-wrapped
    /// form (`/bin/bash -lc '<cmd>'`) in `command` and the parsed command in
    /// its one action; several actions (`a && b`) keep the wrapped form, unwrapped.
    fn display_command(&self) -> String {
        if let [action] = self.command_actions.as_slice()
            && let Some(command) = action.command.as_deref().filter(|c| !c.is_empty())
        {
            return command.to_string();
        }
        unwrap_shell(&self.command)
    }
}

/// `/bin/bash -lc 'cargo test'` → `cargo test`; anything else as it is.
fn unwrap_shell(command: &str) -> String {
    for shell in [
        "/bin/bash -lc ",
        "/bin/zsh -lc ",
        "bash -lc ",
        "/bin/sh -c ",
        "sh -c ",
    ] {
        if let Some(script) = command.strip_prefix(shell) {
            let quoted = script.len() >= 2 && script.starts_with('\'') && script.ends_with('\'');
            if quoted && !script[1..script.len() - 1].contains('\'') {
                return script[1..script.len() - 1].to_string();
            }
            return script.to_string();
        }
    }
    command.to_string()
}

#[derive(Deserialize)]
struct WebSearchItem {
    id: String,
    query: String,
}

#[derive(Deserialize)]
struct McpToolCallItem {
    id: String,
    server: String,
    tool: String,
    status: ItemStatus,
    #[serde(default)]
    error: Option<McpToolCallError>,
}

#[derive(Deserialize)]
struct McpToolCallError {
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct DynamicToolCallItem {
    id: String,
    tool: String,
    #[serde(default)]
    namespace: Option<String>,
    status: ItemStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_command_item_reads_the_command_as_written() {
        let started = json!({"item": {"type": "commandExecution", "id": "c1",
            "command": "/bin/bash -lc 'cargo test'", "cwd": "/w",
            "commandActions": [{"type": "unknown", "command": "cargo test"}],
            "status": "inProgress", "exitCode": null, "aggregatedOutput": null},
            "threadId": "th", "turnId": "tu"});
        assert_eq!(
            decode("item/started", &started),
            Some(StepEvent::Item {
                item: StepItem::Command {
                    id: "c1".into(),
                    command: "cargo test".into(),
                    cwd: Some("/w".into()),
                    status: ItemStatus::InProgress,
                    exit_code: None,
                    output: None,
                },
                completed: false,
            })
        );
        let two_actions = json!({"item": {"type": "commandExecution", "id": "c2",
            "command": "/bin/bash -lc 'ls && pwd'", "cwd": "/w",
            "commandActions": [{"type": "listFiles", "command": "ls"}, {"type": "unknown", "command": "pwd"}],
            "status": "completed", "exitCode": 0, "aggregatedOutput": "a\n/w\n"}});
        let Some(StepEvent::Item {
            item: StepItem::Command {
                command, output, ..
            },
            completed: true,
        }) = decode("item/completed", &two_actions)
        else {
            panic!("not a command");
        };
        assert_eq!(command, "ls && pwd");
        assert_eq!(output.as_deref(), Some("a\n/w\n"));
    }

    #[test]
    fn decodes_reasoning_plan_usage_and_output() {
        assert_eq!(
            decode(
                REASONING_SUMMARY_DELTA,
                &json!({"itemId": "r", "delta": "Look", "summaryIndex": 0, "threadId": "t", "turnId": "u"})
            ),
            Some(StepEvent::ReasoningDelta {
                item_id: "r".into(),
                delta: "Look".into()
            })
        );
        assert_eq!(
            decode(
                COMMAND_OUTPUT_DELTA,
                &json!({"itemId": "c", "delta": "ok\n", "threadId": "t", "turnId": "u"})
            ),
            Some(StepEvent::CommandOutput {
                item_id: "c".into(),
                delta: "ok\n".into()
            })
        );
        assert_eq!(
            decode(
                PLAN_UPDATED,
                &json!({"plan": [{"step": "Read", "status": "completed"}, {"step": "Fix", "status": "inProgress"}], "threadId": "t", "turnId": "u"})
            ),
            Some(StepEvent::Plan(vec![
                PlanStep {
                    step: "Read".into(),
                    status: PlanStatus::Completed
                },
                PlanStep {
                    step: "Fix".into(),
                    status: PlanStatus::InProgress
                },
            ]))
        );
        let usage = json!({"threadId": "t", "turnId": "u", "tokenUsage": {
            "last": {"inputTokens": 10, "cachedInputTokens": 2, "outputTokens": 5, "reasoningOutputTokens": 1, "totalTokens": 15},
            "total": {"inputTokens": 99, "cachedInputTokens": 2, "outputTokens": 5, "reasoningOutputTokens": 1, "totalTokens": 104}}});
        assert_eq!(
            decode(TOKEN_USAGE_UPDATED, &usage),
            Some(StepEvent::Usage(TokenUsage {
                input_tokens: 10,
                cached_input_tokens: 2,
                output_tokens: 5,
                reasoning_output_tokens: 1,
                total_tokens: 15
            }))
        );
        // Agent messages are the answer, not a step; bad shapes are skipped.
        assert_eq!(
            decode(
                "item/completed",
                &json!({"item": {"type": "agentMessage", "id": "m", "text": "hi"}})
            ),
            None
        );
        assert_eq!(decode(PLAN_UPDATED, &json!({"plan": 3})), None);
    }

    #[test]
    fn decodes_notices_and_tool_calls() {
        assert_eq!(
            decode(
                CONFIG_WARNING,
                &json!({"summary": "bubblewrap not found", "details": ""})
            ),
            Some(StepEvent::Notice(Notice {
                kind: NoticeKind::Config,
                summary: "bubblewrap not found".into(),
                details: None
            }))
        );
        assert_eq!(
            decode(
                MODEL_REROUTED,
                &json!({"fromModel": "a", "toModel": "b", "reason": "highRiskCyberActivity", "threadId": "t", "turnId": "u"})
            ),
            Some(StepEvent::Notice(Notice {
                kind: NoticeKind::ModelRerouted,
                summary: "a → b".into(),
                details: Some("highRiskCyberActivity".into())
            }))
        );
        let tool = json!({"item": {"type": "mcpToolCall", "id": "m", "server": "gh", "tool": "search",
            "arguments": {}, "status": "failed", "error": {"message": "denied"}}});
        assert_eq!(
            decode("item/completed", &tool),
            Some(StepEvent::Item {
                item: StepItem::ToolCall {
                    id: "m".into(),
                    name: "gh.search".into(),
                    status: ItemStatus::Failed,
                    error: Some("denied".into())
                },
                completed: true
            })
        );
        assert!(is_global_notice(CONFIG_WARNING));
        assert!(!is_global_notice(MODEL_REROUTED));
    }

    #[test]
    fn unwraps_only_a_plain_shell_wrapper() {
        assert_eq!(unwrap_shell("/bin/bash -lc 'cargo test'"), "cargo test");
        assert_eq!(unwrap_shell("/bin/bash -lc 'a' && 'b'"), "'a' && 'b'");
        assert_eq!(unwrap_shell("rg foo"), "rg foo");
    }
}
