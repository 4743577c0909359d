//! A conversation's history as the user reads it, from the thread Codex
//! keeps on disk (`thread/read`): per turn, what the user asked (without
//! the editor context codex-ls appended to it), the answer, and the agent's
//! steps in the same form a run's `end` reports them. Also the one-line
//! summary of a thread for a list of earlier conversations. Knows nothing
//! of LSP.

use std::path::Path;

use serde_json::json;

use crate::codex::protocol::{FileChangeItem, TurnStatus};
use crate::codex::steps;
use crate::codex::threads::{ThreadRecord, TurnRecord, agent_message_text, user_message_text};

use super::presets::EDIT_CONTRACT;
use super::steps::{StepLog, StepSummary};

/// The start of the context block [`super::context::build_run`] appends
/// to the user's prompt: everything from its last occurrence on is
/// codex-ls's own (the file, the selection, the attachments).
const CONTEXT_MARKER: &str = "\n\nContext from the editor:\n- File: `";

/// The longest title, in characters, before it is cut with `…`.
const TITLE_CHARS: usize = 80;

/// A conversation: its thread and its turns, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    pub thread_id: String,
    pub title: String,
    pub turns: Vec<HistoryTurn>,
}

/// One exchange of a conversation.
#[derive(Debug, Clone)]
pub struct HistoryTurn {
    pub turn_id: String,
    /// What the user asked, without codex-ls's context block.
    pub prompt: String,
    /// The prompt's first line, cut short.
    pub title: String,
    pub status: TurnStatus,
    /// The last agent message, if the turn has one.
    pub answer: Option<String>,
    pub steps: StepSummary,
    /// Unix seconds.
    pub started_at: Option<i64>,
}

/// An earlier conversation in a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadSummary {
    pub thread_id: String,
    pub title: String,
    /// Unix seconds.
    pub updated_at: Option<i64>,
    pub turns: usize,
}

/// The history of `thread` (read with its turns); file paths in steps are
/// shown relative to `root`.
pub fn history(thread: &ThreadRecord, root: &Path) -> History {
    History {
        thread_id: thread.id.clone(),
        title: thread_title(thread),
        turns: thread
            .turns
            .iter()
            .map(|turn| history_turn(turn, root))
            .collect(),
    }
}

/// A thread's line in a list; `turns` is its turn count, when it was read.
pub fn summary(thread: &ThreadRecord, turns: usize) -> ThreadSummary {
    ThreadSummary {
        thread_id: thread.id.clone(),
        title: thread_title(thread),
        updated_at: thread.updated_at,
        turns,
    }
}

/// The thread's own name, else its first message as the user wrote it.
fn thread_title(thread: &ThreadRecord) -> String {
    match thread.name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => title_of(user_prompt(&thread.preview)),
    }
}

fn history_turn(turn: &TurnRecord, root: &Path) -> HistoryTurn {
    let prompt = turn
        .items
        .iter()
        .find_map(user_message_text)
        .map(|text| user_prompt(&text).to_string())
        .unwrap_or_default();
    let answer = turn
        .items
        .iter()
        .rev()
        .find_map(agent_message_text)
        .map(str::to_string);
    HistoryTurn {
        turn_id: turn.id.clone(),
        title: title_of(&prompt),
        prompt,
        status: turn.status,
        answer,
        steps: turn_steps(turn, root),
        started_at: turn.started_at,
    }
}

/// The turn's items as steps, decoded as their `item/completed`
/// notifications were during the run.
fn turn_steps(turn: &TurnRecord, root: &Path) -> StepSummary {
    let mut log = StepLog::new(root);
    for item in &turn.items {
        match FileChangeItem::from_item(item) {
            Some(Ok(change)) => log.file_change(&change, true),
            Some(Err(_)) => {}
            None => {
                let params = json!({ "item": item });
                if let Some(event) = steps::decode("item/completed", &params) {
                    log.apply(&event);
                }
            }
        }
    }
    log.finish(turn.status != TurnStatus::Failed && turn.status != TurnStatus::Interrupted)
}

/// What the user asked, from the text codex-ls sent: the editor's context
/// block and an edit's answer contract are cut off. Text codex-ls did not
/// build comes back whole.
pub fn user_prompt(sent: &str) -> &str {
    let asked = sent.rfind(CONTEXT_MARKER).map_or(sent, |at| &sent[..at]);
    let asked = asked
        .strip_suffix(EDIT_CONTRACT)
        .map_or(asked, |rest| rest.strip_suffix("\n\n").unwrap_or(rest));
    asked.trim()
}

/// The first non-empty line, cut to [`TITLE_CHARS`].
fn title_of(prompt: &str) -> String {
    let line = prompt
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("");
    if line.chars().count() <= TITLE_CHARS {
        return line.to_string();
    }
    let cut: String = line.chars().take(TITLE_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::prompt::context::{RunContext, Selection, build_run};
    use crate::prompt::steps::StepKind;

    fn sent_prompt(user: &str, selection: bool) -> String {
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("a.rs");
        std::fs::write(&file, "fn a() {}\n").unwrap();
        let context = RunContext {
            file_path: Some(file),
            fallback_name: "a.rs".into(),
            language_id: "rust".into(),
            buffer: "fn a() {}\n".into(),
            workspace_folders: vec![PathBuf::from(folder.path())],
            selection: selection.then(|| Selection {
                text: "fn a() {}".into(),
                first_line: 0,
                last_line: 0,
            }),
            inline_selection_limit: 10_000,
        };
        let planned = build_run(
            &context,
            user,
            crate::config::Config::default().run_template(),
        )
        .unwrap();
        planned.params.prompt
    }

    #[test]
    fn the_user_prompt_is_what_was_asked_without_the_editor_context() {
        for selection in [false, true] {
            let sent = sent_prompt("Why is this slow?\nBe brief.", selection);
            assert!(sent.len() > 40, "the sent prompt has a context block");
            assert_eq!(user_prompt(&sent), "Why is this slow?\nBe brief.");
        }
        let edit = format!("Simplify it.\n\n{EDIT_CONTRACT}");
        let sent = sent_prompt(&edit, true);
        assert_eq!(user_prompt(&sent), "Simplify it.");
        assert_eq!(user_prompt("typed elsewhere"), "typed elsewhere");
    }

    #[test]
    fn a_history_has_each_turns_prompt_answer_and_steps() {
        let sent = sent_prompt("First question", false);
        let thread: ThreadRecord = serde_json::from_value(json!({
            "id": "t1", "name": null, "preview": sent, "updatedAt": 5,
            "turns": [
                {"id": "u1", "status": "completed", "startedAt": 3, "items": [
                    {"type": "userMessage", "id": "m1", "content": [{"type": "text", "text": sent}]},
                    {"type": "commandExecution", "id": "c1", "command": "/bin/bash -lc ls",
                     "commandActions": [{"type": "unknown", "command": "ls"}], "cwd": "/ws",
                     "status": "completed", "exitCode": 0, "aggregatedOutput": "a.rs\n"},
                    {"type": "agentMessage", "id": "m2", "text": "First answer"}]},
                {"id": "u2", "status": "interrupted", "items": [
                    {"type": "userMessage", "id": "m3", "content": [{"type": "text", "text": "Second"}]}]}
            ]
        }))
        .unwrap();
        let history = history(&thread, Path::new("/ws"));
        assert_eq!(history.title, "First question");
        let [first, second] = &history.turns[..] else {
            panic!("two turns: {history:?}")
        };
        assert_eq!(first.prompt, "First question");
        assert_eq!(first.answer.as_deref(), Some("First answer"));
        assert_eq!(first.started_at, Some(3));
        assert_eq!(first.steps.steps.len(), 1);
        assert_eq!(first.steps.steps[0].kind, StepKind::Command);
        assert_eq!(
            (second.status, second.answer.as_deref()),
            (TurnStatus::Interrupted, None)
        );
        assert_eq!(summary(&thread, 2).turns, 2);
    }

    #[test]
    fn a_long_title_is_cut_and_a_name_wins() {
        let long = "x".repeat(200);
        assert_eq!(title_of(&long).chars().count(), TITLE_CHARS);
        let thread: ThreadRecord =
            serde_json::from_value(json!({"id": "t", "name": "Mine", "preview": "p"})).unwrap();
        assert_eq!(thread_title(&thread), "Mine");
    }
}
