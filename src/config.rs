//! The server's configuration: one flat object, the same whether it comes as
//! `initializationOptions`, as the `codex` section of
//! `workspace/configuration`, or as `settings.codex` in a pushed
//! `didChangeConfiguration`. An invalid value is reported by name and the
//! previous value stays.

use std::time::Duration;

use serde_json::Value;
use thiserror::Error;

use crate::codex::protocol::{ApprovalPolicy, ReasoningSummary, SandboxMode};
use crate::prompt::PromptRunParams;
use crate::prompt::actions::UserAction;
use crate::prompt::context::DEFAULT_INLINE_SELECTION_LIMIT;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub codex_path: String,
    pub model: Option<String>,
    pub effort: Option<String>,
    /// The reasoning summary each turn asks for; `None` keeps codex's.
    pub reasoning_summary: Option<ReasoningSummary>,
    pub sandbox: SandboxMode,
    pub approval_policy: ApprovalPolicy,
    pub timeout_secs: u64,
    pub progress_interval_ms: u64,
    pub inline_selection_limit: usize,
    /// How long an approval waits for the user before it is declined.
    pub approval_timeout_secs: u64,
    /// Needed for `danger-full-access` and for requests for more sandbox
    /// permissions; refused otherwise.
    pub allow_privileged_escalation: bool,
    /// Edit runs propose their edit (`codex.applyProposal` lands it)
    /// instead of applying it at once.
    pub edit_preview: bool,
    /// User-defined code actions.
    pub actions: Vec<UserAction>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            codex_path: "codex".to_string(),
            model: None,
            effort: None,
            reasoning_summary: None,
            sandbox: SandboxMode::ReadOnly,
            approval_policy: ApprovalPolicy::Never,
            timeout_secs: 600,
            progress_interval_ms: 50,
            inline_selection_limit: DEFAULT_INLINE_SELECTION_LIMIT,
            approval_timeout_secs: 300,
            allow_privileged_escalation: false,
            edit_preview: false,
            actions: Vec::new(),
        }
    }
}

/// One rejected configuration value.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("codex-ls configuration: `{field}` {problem}; keeping the previous value")]
pub struct ConfigError {
    pub field: String,
    pub problem: String,
}

impl Config {
    /// Applies the fields of `value` (an object) that are valid and returns
    /// an error for each that is not. `null` resets a field to its default.
    pub fn apply(&mut self, value: &Value) -> Vec<ConfigError> {
        let Some(object) = value.as_object() else {
            if value.is_null() {
                return Vec::new();
            }
            return vec![ConfigError {
                field: "codex".into(),
                problem: "must be an object".into(),
            }];
        };
        let mut errors = Vec::new();
        let defaults = Config::default();
        let mut field = |name: &str, apply: &mut dyn FnMut(&Value) -> Result<(), String>| {
            if let Some(value) = object.get(name)
                && let Err(problem) = apply(value)
            {
                errors.push(ConfigError {
                    field: name.to_string(),
                    problem,
                });
            }
        };
        field("codexPath", &mut |v| {
            self.codex_path = non_empty_string(v)?.unwrap_or_else(|| defaults.codex_path.clone());
            Ok(())
        });
        field("model", &mut |v| {
            self.model = non_empty_string(v)?;
            Ok(())
        });
        field("effort", &mut |v| {
            self.effort = non_empty_string(v)?;
            Ok(())
        });
        field("reasoningSummary", &mut |v| {
            self.reasoning_summary =
                enum_value(v, None, "\"auto\", \"concise\", \"detailed\" or \"none\"")?;
            Ok(())
        });
        field("sandbox", &mut |v| {
            self.sandbox = enum_value(
                v,
                defaults.sandbox,
                "\"read-only\", \"workspace-write\" or \"danger-full-access\"",
            )?;
            Ok(())
        });
        field("approvalPolicy", &mut |v| {
            self.approval_policy = enum_value(
                v,
                defaults.approval_policy,
                "\"never\", \"on-request\" or \"untrusted\"",
            )?;
            Ok(())
        });
        field("timeoutSecs", &mut |v| {
            self.timeout_secs = integer(v, 1, 86_400)?.unwrap_or(defaults.timeout_secs);
            Ok(())
        });
        field("progressIntervalMs", &mut |v| {
            self.progress_interval_ms =
                integer(v, 1, 10_000)?.unwrap_or(defaults.progress_interval_ms);
            Ok(())
        });
        field("inlineSelectionLimit", &mut |v| {
            self.inline_selection_limit = integer(v, 0, 1 << 24)?
                .map(|n| n as usize)
                .unwrap_or(defaults.inline_selection_limit);
            Ok(())
        });
        field("approvalTimeoutSecs", &mut |v| {
            self.approval_timeout_secs =
                integer(v, 1, 86_400)?.unwrap_or(defaults.approval_timeout_secs);
            Ok(())
        });
        field("allowPrivilegedEscalation", &mut |v| {
            self.allow_privileged_escalation =
                boolean(v)?.unwrap_or(defaults.allow_privileged_escalation);
            Ok(())
        });
        field("editPreview", &mut |v| {
            self.edit_preview = boolean(v)?.unwrap_or(defaults.edit_preview);
            Ok(())
        });
        field("actions", &mut |v| {
            self.actions = actions(v)?;
            Ok(())
        });
        errors
    }

    /// Reads the configuration from a pushed `didChangeConfiguration`
    /// settings value: `{codex: {...}}`, or the flat object itself.
    pub fn section(settings: &Value) -> &Value {
        settings.get("codex").unwrap_or(settings)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub fn progress_interval(&self) -> Duration {
        Duration::from_millis(self.progress_interval_ms)
    }

    pub fn approval_timeout(&self) -> Duration {
        Duration::from_secs(self.approval_timeout_secs)
    }

    /// The user-defined action with this title.
    pub fn action(&self, title: &str) -> Option<&UserAction> {
        self.actions.iter().find(|action| action.title == title)
    }

    /// The run parameters this configuration asks for. Privileged escalation
    /// is approved only by the user's own `sandbox: "danger-full-access"`
    /// together with `allowPrivilegedEscalation: true`.
    pub fn run_template(&self) -> PromptRunParams {
        let mut params = PromptRunParams::new(Default::default(), String::new());
        params.model = self.model.clone();
        params.effort = self.effort.clone();
        params.reasoning_summary = self.reasoning_summary;
        params.sandbox_policy = self.sandbox;
        params.approval_policy = self.approval_policy;
        params.privileged_escalation_approved =
            self.sandbox == SandboxMode::DangerFullAccess && self.allow_privileged_escalation;
        params.timeout = self.timeout();
        params
    }
}

fn non_empty_string(value: &Value) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        other => Err(format!("must be a string, not {other}")),
    }
}

fn boolean(value: &Value) -> Result<Option<bool>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        other => Err(format!("must be true or false, not {other}")),
    }
}

/// `actions: [{ title, prompt, mode }]`; the whole list is rejected if one
/// action is invalid, naming it, so a typo never half-applies.
fn actions(value: &Value) -> Result<Vec<UserAction>, String> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => return Err(format!("must be a list of actions, not {other}")),
    };
    let mut actions: Vec<UserAction> = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let name = item
            .get("title")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{}", index + 1), |title| format!("\"{title}\""));
        let action =
            UserAction::from_value(item).map_err(|problem| format!("action {name}: {problem}"))?;
        if actions.iter().any(|other| other.title == action.title) {
            return Err(format!("action {name}: the title is used twice"));
        }
        actions.push(action);
    }
    Ok(actions)
}

fn enum_value<T: serde::de::DeserializeOwned>(
    value: &Value,
    default: T,
    expected: &str,
) -> Result<T, String> {
    if value.is_null() {
        return Ok(default);
    }
    serde_json::from_value(value.clone())
        .map_err(|_| format!("must be one of {expected}, not {value}"))
}

fn integer(value: &Value, min: u64, max: u64) -> Result<Option<u64>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Number(n) => match n.as_u64() {
            Some(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(format!(
                "must be a whole number from {min} to {max}, not {n}"
            )),
        },
        other => Err(format!("must be a number, not {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::actions::ActionMode;
    use serde_json::json;

    #[test]
    fn valid_values_apply_and_invalid_ones_are_named_and_ignored() {
        let mut config = Config::default();
        let errors = config.apply(&json!({
            "codexPath": "/opt/codex", "model": "gpt-5.5", "sandbox": "workspace-write",
            "timeoutSecs": 0, "progressIntervalMs": "fast", "approvalPolicy": "sometimes",
            "inlineSelectionLimit": 100, "unknownKey": true
        }));
        assert_eq!(config.codex_path, "/opt/codex");
        assert_eq!(config.model.as_deref(), Some("gpt-5.5"));
        assert_eq!(config.sandbox, SandboxMode::WorkspaceWrite);
        assert_eq!(config.inline_selection_limit, 100);
        assert_eq!(config.timeout_secs, 600);
        assert_eq!(config.progress_interval_ms, 50);
        assert_eq!(config.approval_policy, ApprovalPolicy::Never);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["approvalPolicy", "timeoutSecs", "progressIntervalMs"]
        );
        assert!(errors[0].to_string().contains("`approvalPolicy`"));
    }

    #[test]
    fn the_reasoning_summary_goes_on_every_turn_and_a_bad_one_is_named() {
        let mut config = Config::default();
        assert_eq!(config.run_template().reasoning_summary, None);
        assert!(
            config
                .apply(&json!({"reasoningSummary": "concise"}))
                .is_empty()
        );
        assert_eq!(
            config.run_template().reasoning_summary,
            Some(ReasoningSummary::Concise)
        );
        let errors = config.apply(&json!({"reasoningSummary": "short"}));
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].to_string().contains("`reasoningSummary`"),
            "{}",
            errors[0]
        );
        assert_eq!(config.reasoning_summary, Some(ReasoningSummary::Concise));
        config.apply(&json!({"reasoningSummary": null}));
        assert_eq!(config.reasoning_summary, None);
    }

    #[test]
    fn null_resets_and_sections_are_found() {
        let mut config = Config::default();
        config.apply(&json!({"model": "m", "timeoutSecs": 5}));
        config.apply(&json!({"model": null, "timeoutSecs": null}));
        assert_eq!(config, Config::default());
        let settings = json!({"codex": {"model": "x"}});
        assert_eq!(Config::section(&settings), &json!({"model": "x"}));
        assert_eq!(config.apply(&json!(3)).len(), 1);
    }

    #[test]
    fn escalation_is_approved_only_by_danger_full_access_with_the_flag() {
        let mut config = Config::default();
        assert!(!config.run_template().privileged_escalation_approved);
        config.apply(&json!({"sandbox": "danger-full-access"}));
        assert!(!config.run_template().privileged_escalation_approved);
        config.apply(&json!({"allowPrivilegedEscalation": true}));
        assert!(config.run_template().privileged_escalation_approved);
    }

    #[test]
    fn bad_actions_are_named_and_the_previous_list_stays() {
        let mut config = Config::default();
        let good = json!({"actions": [{"title": "Port", "prompt": "Port {selection} to {language}", "mode": "edit"}]});
        assert!(config.apply(&good).is_empty());
        assert_eq!(config.actions[0].mode, ActionMode::Edit);
        let bad = json!({"actions": [
            {"title": "Ok", "prompt": "Explain {selection}"},
            {"title": "Broken", "prompt": "Use {selction}", "mode": "answer"}]});
        let errors = config.apply(&bad);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].problem.contains("\"Broken\""), "{}", errors[0]);
        assert!(errors[0].problem.contains("{selction}"), "{}", errors[0]);
        assert_eq!(config.actions.len(), 1);
        assert_eq!(config.actions[0].title, "Port");
    }
}
