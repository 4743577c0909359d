//! The steps of a run as the user follows them: the agent's reasoning, plan,
//! commands with their output, file changes, web searches, tool calls,
//! retries and notices, each with a one-line title. [`StepLog`] keeps every
//! step's state and what changed since the last report, coalesced and
//! lossless like the answer's text: a report carries each changed step once,
//! its fields as they are now and its text and output since the last report.
//! A command's output is bounded per report and in the final state, keeping
//! its tail, so a command that prints megabytes cannot flood the editor.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::codex::steps::{ItemStatus, Notice, NoticeKind, StepEvent, StepItem};
pub use crate::codex::steps::{PlanStatus, PlanStep, TokenUsage};

use crate::codex::protocol::{FileChangeItem, PatchApplyStatus, PatchChangeKind};

/// Most output of one command in one report; more keeps its tail.
pub const MAX_OUTPUT_PER_REPORT: usize = 16 * 1024;
/// Most output of one command kept for its final state.
pub const MAX_OUTPUT_KEPT: usize = 64 * 1024;
/// Most characters of a command or path in a title.
const MAX_TITLE_PART: usize = 80;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Reasoning,
    Plan,
    Command,
    FileChange,
    WebSearch,
    ToolCall,
    Retry,
    Notice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    InProgress,
    Completed,
    Failed,
    Declined,
}

impl From<ItemStatus> for StepStatus {
    fn from(status: ItemStatus) -> StepStatus {
        match status {
            ItemStatus::InProgress => StepStatus::InProgress,
            ItemStatus::Completed => StepStatus::Completed,
            ItemStatus::Failed => StepStatus::Failed,
            ItemStatus::Declined => StepStatus::Declined,
        }
    }
}

/// How a file changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Delete,
    Update,
}

/// One file of a file-change step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFileChange {
    /// As codex resolved it (absolute); titles show it relative to the
    /// workspace.
    pub path: String,
    pub kind: ChangeKind,
    pub diff: String,
}

/// One step as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    pub status: StepStatus,
    pub title: String,
    /// A reasoning summary, a retry's or notice's details.
    pub text: String,
    pub command: Option<String>,
    pub cwd: Option<String>,
    pub exit_code: Option<i64>,
    /// The tail of a command's output (at most [`MAX_OUTPUT_KEPT`] bytes
    /// once the run is finished; up to twice that while it goes).
    pub output: String,
    /// Bytes of output streamed so far, kept or not.
    output_len: usize,
    pub changes: Option<Vec<StepFileChange>>,
    pub plan: Option<Vec<PlanStep>>,
}

/// What changed in one step since the last report: its fields as they are
/// now, and the text and output that came since (to append).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpdate {
    pub id: String,
    pub kind: StepKind,
    pub status: StepStatus,
    pub title: String,
    pub text: Option<String>,
    pub command: Option<String>,
    pub cwd: Option<String>,
    pub exit_code: Option<i64>,
    pub output_delta: Option<String>,
    /// Bytes of output dropped before `output_delta` (more than
    /// [`MAX_OUTPUT_PER_REPORT`] came since the last report).
    pub output_skipped: usize,
    pub changes: Option<Vec<StepFileChange>>,
    pub plan: Option<Vec<PlanStep>>,
}

/// The steps of a finished run and the tokens its turn used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepSummary {
    pub steps: Vec<Step>,
    pub usage: Option<TokenUsage>,
}

#[derive(Debug, Default)]
struct Pending {
    text: String,
    output: String,
    skipped: usize,
}

/// Every step of a run, and what changed since the last report.
#[derive(Debug, Default)]
pub struct StepLog {
    root: Option<PathBuf>,
    steps: Vec<Step>,
    by_id: HashMap<String, usize>,
    /// Steps changed since the last report, in the order they first changed.
    changed: Vec<usize>,
    pending: HashMap<usize, Pending>,
    /// The step that moved last: what the run is doing now.
    current: Option<usize>,
    usage: Option<TokenUsage>,
    retries: usize,
    /// The retry in progress, if any: at most one, as a retry settles the
    /// one before it. Kept so the answer's every delta need not look.
    retrying: Option<usize>,
    notices: usize,
}

impl StepLog {
    /// A log whose file paths are shown relative to `root`.
    pub fn new(root: &Path) -> StepLog {
        StepLog {
            root: Some(root.to_path_buf()),
            ..StepLog::default()
        }
    }

    /// Takes one step event of the turn.
    pub fn apply(&mut self, event: &StepEvent) {
        match event {
            StepEvent::Item { item, completed } => self.item(item, *completed),
            StepEvent::ReasoningDelta { item_id, delta } => {
                let index = self.reasoning(item_id);
                self.append_text(index, delta);
            }
            StepEvent::ReasoningPart { item_id } => {
                let index = self.reasoning(item_id);
                if !self.steps[index].text.is_empty() {
                    self.append_text(index, "\n\n");
                }
            }
            StepEvent::CommandOutput { item_id, delta } => {
                if let Some(&index) = self.by_id.get(item_id) {
                    self.append_output(index, delta);
                }
            }
            StepEvent::Plan(plan) => self.plan(plan),
            StepEvent::Usage(usage) => self.usage.get_or_insert_default().add(usage),
            StepEvent::Notice(notice) => self.notice(notice),
        }
    }

    /// codex lost the stream and tries again (an `error` with `willRetry`).
    pub fn retry(&mut self, message: &str, details: Option<&str>) {
        self.settle_retries(StepStatus::Completed);
        self.retries += 1;
        let id = format!("retry-{}", self.retries);
        let index = self.upsert(&id, StepKind::Retry);
        self.retrying = Some(index);
        let step = &mut self.steps[index];
        step.status = StepStatus::InProgress;
        step.title = retry_title(message);
        if let Some(details) = details.filter(|details| !details.is_empty()) {
            self.append_text(index, details);
        }
    }

    /// The answer streams again: a retry in progress has worked.
    pub fn answer_progressed(&mut self) {
        self.settle_retries(StepStatus::Completed);
    }

    /// A `fileChange` item started or completed.
    pub fn file_change(&mut self, item: &FileChangeItem, completed: bool) {
        let index = self.upsert(&item.id, StepKind::FileChange);
        let changes: Vec<StepFileChange> = item
            .changes
            .iter()
            .map(|change| StepFileChange {
                path: change.path.clone(),
                kind: match change.kind {
                    PatchChangeKind::Add => ChangeKind::Add,
                    PatchChangeKind::Delete => ChangeKind::Delete,
                    PatchChangeKind::Update { .. } | PatchChangeKind::Unknown => ChangeKind::Update,
                },
                diff: change.diff.clone(),
            })
            .collect();
        let status = match item.status {
            PatchApplyStatus::Completed => StepStatus::Completed,
            PatchApplyStatus::Failed => StepStatus::Failed,
            PatchApplyStatus::Declined => StepStatus::Declined,
            PatchApplyStatus::InProgress | PatchApplyStatus::Unknown => {
                if completed {
                    StepStatus::Completed
                } else {
                    StepStatus::InProgress
                }
            }
        };
        let step = &mut self.steps[index];
        step.status = status;
        step.changes = Some(changes);
        self.retitle(index);
    }

    /// Notices that came outside the turn (at start-up).
    pub fn notices(&mut self, notices: &[Notice]) {
        for notice in notices {
            self.notice(notice);
        }
    }

    /// Whether `event` changes what the agent is doing now (a notice or
    /// token usage does not).
    pub fn is_activity(event: &StepEvent) -> bool {
        !matches!(event, StepEvent::Notice(_) | StepEvent::Usage(_))
    }

    /// Whether any step changed since the last [`StepLog::take_updates`].
    pub fn has_updates(&self) -> bool {
        !self.changed.is_empty()
    }

    /// What changed since the last call, each changed step once, in the
    /// order they first changed.
    pub fn take_updates(&mut self) -> Vec<StepUpdate> {
        let changed = std::mem::take(&mut self.changed);
        changed
            .into_iter()
            .map(|index| {
                let mut pending = self.pending.remove(&index).unwrap_or_default();
                pending.skipped += keep_tail(&mut pending.output, MAX_OUTPUT_PER_REPORT);
                let step = &self.steps[index];
                StepUpdate {
                    id: step.id.clone(),
                    kind: step.kind,
                    status: step.status,
                    title: step.title.clone(),
                    text: (!pending.text.is_empty()).then_some(pending.text),
                    command: step.command.clone(),
                    cwd: step.cwd.clone(),
                    exit_code: step.exit_code,
                    output_delta: (!pending.output.is_empty() || pending.skipped > 0)
                        .then_some(pending.output),
                    output_skipped: pending.skipped,
                    changes: step.changes.clone(),
                    plan: step.plan.clone(),
                }
            })
            .collect()
    }

    /// The current step in words, for a status line: `Thinking: …`,
    /// `Running \`cargo test\``, `Reconnecting (2/5)`.
    pub fn current_message(&self) -> Option<String> {
        let step = &self.steps[self.current?];
        if step.kind == StepKind::Reasoning && step.status == StepStatus::InProgress {
            let tail = last_line_tail(&step.text);
            return Some(if tail.is_empty() {
                "Thinking…".to_string()
            } else {
                format!("Thinking: {tail}")
            });
        }
        Some(step.title.clone())
    }

    /// The final state of every step: one still in progress when the run
    /// ends is completed if the run succeeded, failed otherwise.
    pub fn finish(mut self, succeeded: bool) -> StepSummary {
        let open = if succeeded {
            StepStatus::Completed
        } else {
            StepStatus::Failed
        };
        for index in 0..self.steps.len() {
            keep_tail(&mut self.steps[index].output, MAX_OUTPUT_KEPT);
            if self.steps[index].status == StepStatus::InProgress {
                self.steps[index].status = open;
                self.retitle(index);
            }
        }
        StepSummary {
            steps: self.steps,
            usage: self.usage,
        }
    }

    fn item(&mut self, item: &StepItem, completed: bool) {
        match item {
            StepItem::Reasoning { id, summary } => {
                let index = self.reasoning(id);
                let whole = summary.join("\n\n");
                if completed {
                    // The completed item holds the whole summary; add what
                    // did not stream.
                    if let Some(rest) = whole.strip_prefix(self.steps[index].text.as_str())
                        && !rest.is_empty()
                    {
                        self.append_text(index, rest);
                    }
                    self.steps[index].status = StepStatus::Completed;
                    self.retitle(index);
                    self.touch(index);
                }
            }
            StepItem::Command {
                id,
                command,
                cwd,
                status,
                exit_code,
                output,
            } => {
                let index = self.upsert(id, StepKind::Command);
                let step = &mut self.steps[index];
                step.command = Some(command.clone());
                step.cwd = cwd.clone();
                step.exit_code = *exit_code;
                step.status = (*status).into();
                if completed && step.status == StepStatus::InProgress {
                    step.status = StepStatus::Completed;
                }
                // A command that prints at once sends no output delta; its
                // output is only in the completed item.
                if let Some(output) = output.as_deref()
                    && step.output_len == 0
                    && !output.is_empty()
                {
                    self.append_output(index, output);
                }
                self.retitle(index);
            }
            StepItem::WebSearch { id, query } => {
                let index = self.upsert(id, StepKind::WebSearch);
                let step = &mut self.steps[index];
                step.text = query.clone();
                step.status = if completed {
                    StepStatus::Completed
                } else {
                    StepStatus::InProgress
                };
                self.retitle(index);
            }
            StepItem::ToolCall {
                id,
                name,
                status,
                error,
            } => {
                let index = self.upsert(id, StepKind::ToolCall);
                let step = &mut self.steps[index];
                step.command = Some(name.clone());
                step.status = (*status).into();
                if completed && step.status == StepStatus::InProgress {
                    step.status = StepStatus::Completed;
                }
                if let Some(error) = error
                    && step.text.is_empty()
                {
                    self.append_text(index, error);
                }
                self.retitle(index);
            }
        }
    }

    fn reasoning(&mut self, id: &str) -> usize {
        let known = self.by_id.contains_key(id);
        let index = self.upsert(id, StepKind::Reasoning);
        if !known {
            self.retitle(index);
        }
        index
    }

    fn plan(&mut self, plan: &[PlanStep]) {
        let index = self.upsert("plan", StepKind::Plan);
        let step = &mut self.steps[index];
        step.plan = Some(plan.to_vec());
        step.status = if plan
            .iter()
            .all(|entry| entry.status == PlanStatus::Completed)
        {
            StepStatus::Completed
        } else {
            StepStatus::InProgress
        };
        self.retitle(index);
    }

    fn notice(&mut self, notice: &Notice) {
        self.notices += 1;
        let id = format!("notice-{}", self.notices);
        // A notice is news, not what the agent is doing: the current step
        // stays what it was.
        let index = self.entry(&id, StepKind::Notice);
        self.mark_changed(index);
        let step = &mut self.steps[index];
        step.status = StepStatus::Completed;
        step.title = format!("{}: {}", notice.kind.label(), one_line(&notice.summary));
        let details = match notice.kind {
            NoticeKind::ModelRerouted => notice
                .details
                .as_deref()
                .map(|reason| format!("Reason: {reason}")),
            _ => notice.details.clone(),
        };
        if let Some(details) = details {
            self.steps[index].text.push_str(&details);
            self.pending
                .entry(index)
                .or_default()
                .text
                .push_str(&details);
        }
    }

    fn settle_retries(&mut self, status: StepStatus) {
        if let Some(index) = self.retrying.take() {
            self.steps[index].status = status;
            self.touch(index);
        }
    }

    /// The step with `id`, made if new; marked changed and current.
    fn upsert(&mut self, id: &str, kind: StepKind) -> usize {
        let index = self.entry(id, kind);
        self.touch(index);
        index
    }

    /// The step with `id`, made if new.
    fn entry(&mut self, id: &str, kind: StepKind) -> usize {
        match self.by_id.get(id) {
            Some(&index) => index,
            None => {
                self.steps.push(Step {
                    id: id.to_string(),
                    kind,
                    status: StepStatus::InProgress,
                    title: String::new(),
                    text: String::new(),
                    command: None,
                    cwd: None,
                    exit_code: None,
                    output: String::new(),
                    output_len: 0,
                    changes: None,
                    plan: None,
                });
                let index = self.steps.len() - 1;
                self.by_id.insert(id.to_string(), index);
                index
            }
        }
    }

    /// Marks the step changed and makes it what the agent is doing now.
    fn touch(&mut self, index: usize) {
        self.mark_changed(index);
        self.current = Some(index);
    }

    /// Marks the step changed (for the next report).
    fn mark_changed(&mut self, index: usize) {
        if !self.changed.contains(&index) {
            self.changed.push(index);
        }
    }

    fn append_text(&mut self, index: usize, text: &str) {
        self.steps[index].text.push_str(text);
        self.pending.entry(index).or_default().text.push_str(text);
        self.touch(index);
    }

    /// Output is trimmed to its bound only once it holds twice as much, so
    /// a command printing line after line is not copied whole per line;
    /// reports and the final state trim it exactly.
    fn append_output(&mut self, index: usize, output: &str) {
        let step = &mut self.steps[index];
        step.output.push_str(output);
        step.output_len += output.len();
        if step.output.len() > 2 * MAX_OUTPUT_KEPT {
            keep_tail(&mut step.output, MAX_OUTPUT_KEPT);
        }
        let pending = self.pending.entry(index).or_default();
        pending.output.push_str(output);
        if pending.output.len() > 2 * MAX_OUTPUT_PER_REPORT {
            pending.skipped += keep_tail(&mut pending.output, MAX_OUTPUT_PER_REPORT);
        }
        self.touch(index);
    }

    fn retitle(&mut self, index: usize) {
        let step = &self.steps[index];
        let title = match step.kind {
            StepKind::Reasoning => match step.status {
                StepStatus::InProgress => "Thinking".to_string(),
                _ => "Thought".to_string(),
            },
            StepKind::Plan => plan_title(step.plan.as_deref().unwrap_or_default()),
            StepKind::Command => command_title(
                step.command.as_deref().unwrap_or_default(),
                step.status,
                step.exit_code,
            ),
            StepKind::FileChange => {
                let paths: Vec<String> = step
                    .changes
                    .iter()
                    .flatten()
                    .map(|change| self.shown_path(&change.path))
                    .collect();
                file_change_title(&paths, step.status)
            }
            StepKind::WebSearch => {
                let verb = if step.status == StepStatus::InProgress {
                    "Searching the web"
                } else {
                    "Searched the web"
                };
                format!("{verb}: {}", shorten(&one_line(&step.text)))
            }
            StepKind::ToolCall => {
                let name = step.command.as_deref().unwrap_or("a tool");
                match step.status {
                    StepStatus::InProgress => format!("Calling {name}"),
                    StepStatus::Completed => format!("Called {name}"),
                    StepStatus::Failed => format!("Tool call failed: {name}"),
                    StepStatus::Declined => format!("Tool call declined: {name}"),
                }
            }
            StepKind::Retry | StepKind::Notice => return,
        };
        self.steps[index].title = title;
    }

    /// A path as the user knows it: relative to the workspace when inside.
    fn shown_path(&self, path: &str) -> String {
        let relative = self
            .root
            .as_deref()
            .and_then(|root| Path::new(path).strip_prefix(root).ok());
        match relative {
            Some(relative) if !relative.as_os_str().is_empty() => {
                relative.to_string_lossy().into_owned()
            }
            _ => path.to_string(),
        }
    }
}

fn command_title(command: &str, status: StepStatus, exit_code: Option<i64>) -> String {
    let command = shorten(&one_line(command));
    let exit = exit_code
        .map(|code| format!(" (exit {code})"))
        .unwrap_or_default();
    match status {
        StepStatus::InProgress => format!("Running `{command}`"),
        StepStatus::Completed => format!("Ran `{command}`{exit}"),
        StepStatus::Failed => format!("Command failed: `{command}`{exit}"),
        StepStatus::Declined => format!("Declined: `{command}`"),
    }
}

fn file_change_title(paths: &[String], status: StepStatus) -> String {
    let what = match paths {
        [] => "files".to_string(),
        [path] => shorten(path),
        _ => format!("{} files", paths.len()),
    };
    match status {
        StepStatus::InProgress => format!("Editing {what}"),
        StepStatus::Completed => format!("Edited {what}"),
        StepStatus::Failed => format!("Edit failed: {what}"),
        StepStatus::Declined => format!("Edit declined: {what}"),
    }
}

fn plan_title(plan: &[PlanStep]) -> String {
    let done = plan
        .iter()
        .filter(|entry| entry.status == PlanStatus::Completed)
        .count();
    match plan
        .iter()
        .find(|entry| entry.status == PlanStatus::InProgress)
    {
        Some(now) => format!(
            "Plan ({done}/{}): {}",
            plan.len(),
            shorten(&one_line(&now.step))
        ),
        None => format!("Plan ({done}/{} done)", plan.len()),
    }
}

/// `Reconnecting... 2/5` → `Reconnecting (2/5)`; other messages as
/// `Retrying: <message>`.
fn retry_title(message: &str) -> String {
    let counted = message
        .rsplit_once(' ')
        .filter(|(_, count)| is_count(count));
    match counted {
        Some((what, count)) => format!("{} ({count})", what.trim_end_matches(['.', '…'])),
        None => format!("Retrying: {}", shorten(&one_line(message))),
    }
}

/// `2/5`.
fn is_count(text: &str) -> bool {
    text.split_once('/').is_some_and(|(n, m)| {
        !n.is_empty()
            && !m.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && m.bytes().all(|b| b.is_ascii_digit())
    })
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_TITLE_PART {
        return text.to_string();
    }
    let mut short: String = text.chars().take(MAX_TITLE_PART - 1).collect();
    short.push('…');
    short
}

/// The end of the last non-empty line, for a status line.
fn last_line_tail(text: &str) -> String {
    let line = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    let line = one_line(line.trim_matches('*'));
    let count = line.chars().count();
    if count <= MAX_TITLE_PART {
        return line;
    }
    let tail: String = line.chars().skip(count - (MAX_TITLE_PART - 1)).collect();
    format!("…{tail}")
}

/// Keeps the last `max` bytes of `text` (cut at a character boundary);
/// returns how many bytes were dropped.
fn keep_tail(text: &mut String, max: usize) -> usize {
    if text.len() <= max {
        return 0;
    }
    let mut cut = text.len() - max;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    text.drain(..cut);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::protocol::FileUpdateChange;

    fn command(id: &str, status: ItemStatus, exit_code: Option<i64>) -> StepEvent {
        StepEvent::Item {
            item: StepItem::Command {
                id: id.into(),
                command: "cargo test".into(),
                cwd: Some("/w".into()),
                status,
                exit_code,
                output: None,
            },
            completed: status != ItemStatus::InProgress,
        }
    }

    fn output(id: &str, delta: &str) -> StepEvent {
        StepEvent::CommandOutput {
            item_id: id.into(),
            delta: delta.into(),
        }
    }

    #[test]
    fn a_command_streams_its_output_and_ends_with_its_exit_code() {
        let mut log = StepLog::new(Path::new("/w"));
        log.apply(&command("c", ItemStatus::InProgress, None));
        log.apply(&output("c", "running 3 tests\n"));
        assert_eq!(
            log.current_message().as_deref(),
            Some("Running `cargo test`")
        );
        let first = log.take_updates();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].title, "Running `cargo test`");
        assert_eq!(first[0].output_delta.as_deref(), Some("running 3 tests\n"));
        assert!(!log.has_updates());
        log.apply(&output("c", "ok\n"));
        log.apply(&command("c", ItemStatus::Completed, Some(0)));
        let second = log.take_updates();
        assert_eq!(second.len(), 1, "one update per step per report");
        assert_eq!(second[0].output_delta.as_deref(), Some("ok\n"));
        assert_eq!(second[0].status, StepStatus::Completed);
        assert_eq!(second[0].exit_code, Some(0));
        assert_eq!(second[0].title, "Ran `cargo test` (exit 0)");
        let summary = log.finish(true);
        assert_eq!(summary.steps[0].output, "running 3 tests\nok\n");
    }

    #[test]
    fn output_that_came_at_once_is_taken_from_the_completed_item() {
        let mut log = StepLog::default();
        log.apply(&command("c", ItemStatus::InProgress, None));
        log.apply(&StepEvent::Item {
            item: StepItem::Command {
                id: "c".into(),
                command: "ls".into(),
                cwd: None,
                status: ItemStatus::Failed,
                exit_code: Some(2),
                output: Some("ls: cannot access\n".into()),
            },
            completed: true,
        });
        let updates = log.take_updates();
        assert_eq!(
            updates[0].output_delta.as_deref(),
            Some("ls: cannot access\n")
        );
        assert_eq!(updates[0].title, "Command failed: `ls` (exit 2)");
    }

    #[test]
    fn output_is_bounded_per_report_keeping_its_tail_and_nothing_else_is_lost() {
        let mut log = StepLog::default();
        log.apply(&command("c", ItemStatus::InProgress, None));
        log.take_updates();
        let mut streamed = String::new();
        for i in 0..5_000 {
            let line = format!("line {i} é\n");
            streamed.push_str(&line);
            log.apply(&output("c", &line));
        }
        let update = log.take_updates().remove(0);
        let delta = update.output_delta.unwrap();
        assert!(delta.len() <= MAX_OUTPUT_PER_REPORT);
        assert_eq!(update.output_skipped + delta.len(), streamed.len());
        assert!(streamed.ends_with(&delta));
        let kept = log.finish(true).steps.remove(0).output;
        assert!(kept.len() <= MAX_OUTPUT_KEPT && streamed.ends_with(&kept));
    }

    #[test]
    fn reasoning_streams_then_completes_with_what_did_not_stream() {
        let mut log = StepLog::default();
        let delta = |text: &str| StepEvent::ReasoningDelta {
            item_id: "r".into(),
            delta: text.into(),
        };
        log.apply(&delta("**Reading the code**"));
        assert_eq!(
            log.current_message().as_deref(),
            Some("Thinking: Reading the code")
        );
        log.apply(&StepEvent::ReasoningPart {
            item_id: "r".into(),
        });
        log.apply(&delta("Then fix"));
        let streamed = log.take_updates().remove(0);
        assert_eq!(
            streamed.text.as_deref(),
            Some("**Reading the code**\n\nThen fix")
        );
        log.apply(&StepEvent::Item {
            item: StepItem::Reasoning {
                id: "r".into(),
                summary: vec!["**Reading the code**".into(), "Then fix it.".into()],
            },
            completed: true,
        });
        let done = log.take_updates().remove(0);
        assert_eq!(done.text.as_deref(), Some(" it."));
        assert_eq!(done.title, "Thought");
        assert_eq!(done.status, StepStatus::Completed);
    }

    #[test]
    fn retries_count_and_settle_when_the_answer_streams() {
        let mut log = StepLog::default();
        log.retry("Reconnecting... 1/5", Some("stream disconnected"));
        assert_eq!(log.current_message().as_deref(), Some("Reconnecting (1/5)"));
        log.retry("Reconnecting... 2/5", None);
        let updates = log.take_updates();
        assert_eq!(updates.len(), 2);
        assert_eq!(updates[0].status, StepStatus::Completed);
        assert_eq!(updates[0].text.as_deref(), Some("stream disconnected"));
        assert_eq!(updates[1].id, "retry-2");
        assert_eq!(updates[1].status, StepStatus::InProgress);
        log.answer_progressed();
        assert_eq!(log.take_updates()[0].status, StepStatus::Completed);
        assert_eq!(retry_title("overloaded"), "Retrying: overloaded");
    }

    #[test]
    fn a_failed_run_fails_the_steps_still_open() {
        let mut log = StepLog::default();
        log.apply(&command("c", ItemStatus::InProgress, None));
        log.retry("Reconnecting... 5/5", None);
        let summary = log.finish(false);
        assert!(
            summary
                .steps
                .iter()
                .all(|step| step.status == StepStatus::Failed)
        );
        assert_eq!(summary.steps[0].title, "Command failed: `cargo test`");
    }

    #[test]
    fn file_changes_plan_notices_and_usage() {
        let mut log = StepLog::new(Path::new("/w"));
        let item = FileChangeItem {
            id: "f".into(),
            changes: vec![FileUpdateChange {
                path: "/w/src/lib.rs".into(),
                kind: PatchChangeKind::Update { move_path: None },
                diff: "@@ -1 +1 @@\n-a\n+b\n".into(),
            }],
            status: PatchApplyStatus::InProgress,
        };
        log.file_change(&item, false);
        assert_eq!(log.current_message().as_deref(), Some("Editing src/lib.rs"));
        log.apply(&StepEvent::Plan(vec![
            PlanStep {
                step: "Read".into(),
                status: PlanStatus::Completed,
            },
            PlanStep {
                step: "Fix the bug".into(),
                status: PlanStatus::InProgress,
            },
        ]));
        log.apply(&StepEvent::Notice(Notice {
            kind: NoticeKind::Config,
            summary: "bubblewrap not found".into(),
            details: Some("install it".into()),
        }));
        let usage = TokenUsage {
            input_tokens: 3,
            total_tokens: 4,
            output_tokens: 1,
            ..TokenUsage::default()
        };
        log.apply(&StepEvent::Usage(usage));
        log.apply(&StepEvent::Usage(usage));
        let updates = log.take_updates();
        let titles: Vec<&str> = updates.iter().map(|u| u.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Editing src/lib.rs",
                "Plan (1/2): Fix the bug",
                "Config warning: bubblewrap not found"
            ]
        );
        let changes = updates[0].changes.as_ref().unwrap();
        assert_eq!(changes[0].path, "/w/src/lib.rs");
        assert_eq!(changes[0].kind, ChangeKind::Update);
        assert_eq!(updates[2].text.as_deref(), Some("install it"));
        let summary = log.finish(true);
        assert_eq!(summary.usage.unwrap().total_tokens, 8);
        assert_eq!(summary.steps[0].title, "Edited src/lib.rs");
    }

    #[test]
    fn keep_tail_cuts_at_a_character_boundary() {
        let mut text = "ééé".to_string();
        assert_eq!(keep_tail(&mut text, 3), 4);
        assert_eq!(text, "é");
    }
}
