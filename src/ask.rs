//! `codex-ls ask`: one prompt run from the command line, through the same
//! code path as the editor's (snapshot, attachments, streaming, error
//! taxonomy). The quickest way to check a setup.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Arg, ArgMatches, value_parser};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::codex::{ProcessLauncher, Supervisor};
use crate::config::Config;
use crate::prompt::context::{RunContext, Selection, build_run};
use crate::prompt::conversation::earlier_thread;
use crate::prompt::steps::{StepKind, StepLog, StepStatus};
use crate::prompt::threads;
use crate::prompt::{PromptRunError, RunEvent, ThreadBinding, execute};

/// What `ask` was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskArgs {
    pub file: PathBuf,
    /// 1-based, inclusive.
    pub lines: Option<(u32, u32)>,
    pub codex_path: Option<String>,
    pub prompt: String,
    /// Print commands' output and the reasoning summary with the steps.
    pub verbose: bool,
    /// Which conversation the prompt continues.
    pub conversation: AskConversation,
}

/// Which conversation `ask` continues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AskConversation {
    /// A new one.
    #[default]
    New,
    /// `--continue`: the last conversation of the workspace (the run's
    /// working directory), or a new one when it has none.
    Last,
    /// `--thread ID`: that thread.
    Thread(String),
}

/// The `ask` subcommand: `--file PATH [--range L1:L2] [--codex-path P]
/// PROMPT...`. Arguments are parsed as `OsString`s: a path need not be
/// UTF-8, and any other argument that is not is an error, never a panic.
pub fn command() -> clap::Command {
    // `clap::Command` by its full name: the security test's scan for process
    // spawns tells it from `std::process::Command` so.
    clap::Command::new("ask")
        .about("Run one prompt on a file and print the streamed answer")
        .arg(
            Arg::new("file")
                .long("file")
                .value_name("PATH")
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help("The file the prompt is about"),
        )
        .arg(
            Arg::new("range")
                .long("range")
                .value_name("L1:L2")
                .value_parser(parse_range)
                .help("Lines to select, 1-based, inclusive"),
        )
        .arg(
            Arg::new("codex-path")
                .long("codex-path")
                .value_name("P")
                .value_parser(value_parser!(String))
                .help("The codex binary (default: codex on PATH)"),
        )
        .arg(
            Arg::new("verbose")
                .long("verbose")
                .short('v')
                .action(clap::ArgAction::SetTrue)
                .help("Also print commands' output and the agent's reasoning on stderr"),
        )
        .arg(
            Arg::new("continue")
                .long("continue")
                .action(clap::ArgAction::SetTrue)
                .conflicts_with("thread")
                .help("Continue the last conversation of the workspace"),
        )
        .arg(
            Arg::new("thread")
                .long("thread")
                .value_name("ID")
                .value_parser(value_parser!(String))
                .help("Continue the conversation (Codex thread) ID"),
        )
        .arg(
            Arg::new("prompt")
                .value_name("PROMPT")
                .required(true)
                .num_args(1..)
                .value_parser(value_parser!(String))
                .help("The prompt; its words are joined with spaces"),
        )
}

/// What `ask` was asked, from the matches of [`command`].
pub fn from_matches(matches: &ArgMatches) -> Result<AskArgs, clap::Error> {
    // The ids and types are [`command`]'s own; a mismatch is a bug, which
    // clap reports as an error rather than a panic with `try_get_*`.
    let bug = |err: clap::parser::MatchesError| {
        clap::Error::raw(clap::error::ErrorKind::InvalidValue, err.to_string())
    };
    let file = matches
        .try_get_one::<PathBuf>("file")
        .map_err(bug)?
        .cloned()
        .ok_or_else(|| clap::Error::new(clap::error::ErrorKind::MissingRequiredArgument))?;
    let prompt: Vec<String> = matches
        .try_get_many::<String>("prompt")
        .map_err(bug)?
        .map(|words| words.cloned().collect())
        .unwrap_or_default();
    if prompt.is_empty() {
        return Err(clap::Error::new(
            clap::error::ErrorKind::MissingRequiredArgument,
        ));
    }
    Ok(AskArgs {
        file,
        lines: matches
            .try_get_one::<(u32, u32)>("range")
            .map_err(bug)?
            .copied(),
        codex_path: matches
            .try_get_one::<String>("codex-path")
            .map_err(bug)?
            .cloned(),
        prompt: prompt.join(" "),
        verbose: matches.get_flag("verbose"),
        conversation: match matches.try_get_one::<String>("thread").map_err(bug)? {
            Some(thread) => AskConversation::Thread(thread.clone()),
            None if matches.get_flag("continue") => AskConversation::Last,
            None => AskConversation::New,
        },
    })
}

/// Parses the arguments after `ask`.
pub fn parse_args<I, T>(args: I) -> Result<AskArgs, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let matches = command().try_get_matches_from(
        std::iter::once(OsString::from("ask")).chain(args.into_iter().map(Into::into)),
    )?;
    from_matches(&matches)
}

fn parse_range(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("--range takes L1:L2 (1-based lines, inclusive), not {text}");
    let (first, last) = text.split_once(':').ok_or_else(bad)?;
    let first: u32 = first.trim().parse().map_err(|_| bad())?;
    let last: u32 = last.trim().parse().map_err(|_| bad())?;
    if first == 0 || last < first {
        return Err(bad());
    }
    Ok((first, last))
}

/// Runs the prompt, streaming the answer to stdout. Returns the exit code.
pub async fn run(args: AskArgs) -> i32 {
    let mut config = Config::default();
    if let Some(path) = &args.codex_path {
        config.codex_path = path.clone();
    }
    let supervisor = Supervisor::new(Arc::new(ProcessLauncher), env!("CARGO_PKG_VERSION"));
    let outcome = ask(&args, &config, &supervisor).await;
    supervisor.shutdown().await;
    match outcome {
        Ok(()) => 0,
        Err(err) if err.is_user_cancel() => {
            say("codex-ls: the run was cancelled");
            EXIT_INTERRUPTED
        }
        Err(err) => {
            say(&format!("codex-ls: {}: {err}", err.code()));
            1
        }
    }
}

async fn ask(
    args: &AskArgs,
    config: &Config,
    supervisor: &Supervisor,
) -> Result<(), PromptRunError> {
    crate::prompt::snapshot::remove_stale(&std::env::temp_dir());
    let context = context_for(args, config)?;
    let planned = build_run(&context, &args.prompt, config.run_template())?;
    let cancel = CancellationToken::new();
    let (events, mut receiver) = mpsc::unbounded_channel();
    let mut steps = StepPrinter::new(&planned.params.cwd, args.verbose);
    let printer = tokio::spawn(async move {
        let mut stdout = std::io::stdout();
        let mut printed_any = false;
        while let Some(event) = receiver.recv().await {
            match event {
                RunEvent::Delta(delta) => {
                    if delta.reset && printed_any {
                        let _ = writeln!(stdout, "\n\n[codex retried; the answer starts over]\n");
                    }
                    let _ = write!(stdout, "{}", delta.text);
                    let _ = stdout.flush();
                    printed_any = true;
                    steps.log.answer_progressed();
                }
                other => steps.take(&other),
            }
            steps.print();
        }
        if printed_any {
            let _ = writeln!(stdout);
        }
    });
    tokio::spawn(stop_on_ctrl_c(cancel.clone()));
    let thread = match continued_thread(args, config, supervisor, &planned.params.cwd).await {
        Ok(thread) => thread,
        Err(err) => {
            drop(events);
            let _ = printer.await;
            if let Some(snapshots) = planned.snapshots {
                let _ = snapshots.remove();
            }
            return Err(err);
        }
    };
    let (outcome, _) = execute(
        supervisor,
        &config.codex_path,
        &planned.params,
        thread,
        &crate::prompt::approval::ApprovalSettings::default(),
        &events,
        &crate::prompt::RunLimits::new(cancel, tokio::time::Instant::now(), planned.params.timeout),
    )
    .await;
    drop(events);
    let _ = printer.await;
    if let Some(snapshots) = planned.snapshots {
        let _ = snapshots.remove();
    }
    outcome.map(|_| ())
}

/// The thread `ask` continues: the one named, or the workspace's last
/// (`thread/list` on the run's working directory, most recently updated
/// first), resumed by the run.
async fn continued_thread(
    args: &AskArgs,
    config: &Config,
    supervisor: &Supervisor,
    cwd: &Path,
) -> Result<Option<ThreadBinding>, PromptRunError> {
    match &args.conversation {
        AskConversation::New => Ok(None),
        AskConversation::Thread(thread_id) => Ok(Some(earlier_thread(thread_id))),
        AskConversation::Last => {
            let last = threads::list(supervisor, &config.codex_path, cwd, 1)
                .await
                .map_err(|err| PromptRunError::Runtime(err.to_string()))?;
            match last.first() {
                Some(thread) => {
                    say(&format!(
                        "codex-ls: continuing the conversation {} ({})",
                        thread.thread_id, thread.title
                    ));
                    Ok(Some(earlier_thread(&thread.thread_id)))
                }
                None => {
                    say(&format!(
                        "codex-ls: no earlier conversation in {}; starting a new one",
                        cwd.display()
                    ));
                    Ok(None)
                }
            }
        }
    }
}

/// Prints the agent's steps on stderr as they happen, one line each time a
/// step appears or its title changes (`▸ Running \`cargo test\``, then
/// `✓ Ran \`cargo test\` (exit 0)`), so the answer alone goes to stdout.
/// Verbose: commands' output and the reasoning summary too, indented.
struct StepPrinter {
    log: StepLog,
    verbose: bool,
    shown: HashMap<String, String>,
}

impl StepPrinter {
    fn new(root: &Path, verbose: bool) -> StepPrinter {
        StepPrinter {
            log: StepLog::new(root),
            verbose,
            shown: HashMap::new(),
        }
    }

    fn take(&mut self, event: &RunEvent) {
        match event {
            RunEvent::Step(step) => self.log.apply(step),
            RunEvent::Retry { message, details } => self.log.retry(message, details.as_deref()),
            RunEvent::FileChangeProposed(item) => self.log.file_change(item, false),
            RunEvent::FileChanged(item) | RunEvent::FileChangeEnded(item) => {
                self.log.file_change(item, true)
            }
            RunEvent::Notice(notice) => say(&format!("codex-ls: {notice}")),
            // The thread, so the user can continue it with `--thread`.
            RunEvent::Started { thread_id, .. } => say(&format!("codex-ls: thread {thread_id}")),
            RunEvent::Delta(_) => {}
        }
    }

    fn print(&mut self) {
        let mut stderr = std::io::stderr();
        for update in self.log.take_updates() {
            if self.shown.get(&update.id) != Some(&update.title) {
                let mark = match update.status {
                    StepStatus::InProgress => "▸",
                    StepStatus::Completed => "✓",
                    StepStatus::Failed | StepStatus::Declined => "✗",
                };
                let mut line = format!("{mark} {}", update.title);
                if let (StepKind::Retry | StepKind::Notice, Some(text)) =
                    (update.kind, update.text.as_deref())
                {
                    line.push_str(&format!(": {}", text.trim()));
                }
                let _ = writeln!(stderr, "{line}");
                self.shown.insert(update.id.clone(), update.title.clone());
            }
            if !self.verbose {
                continue;
            }
            if update.output_skipped > 0 {
                let _ = writeln!(stderr, "    […{} bytes]", update.output_skipped);
            }
            let more = match update.kind {
                StepKind::Command => update.output_delta.as_deref(),
                StepKind::Reasoning => update.text.as_deref(),
                _ => None,
            };
            for line in more.unwrap_or_default().lines() {
                let _ = writeln!(stderr, "    {line}");
            }
        }
        let _ = stderr.flush();
    }
}

/// A line on stderr. A closed stderr (the terminal went away) is no reason
/// to panic: the run still ends and cleans up.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The first Ctrl-C cancels the run, which ends within a second in any
/// phase; a second one quits at once, taking Codex's processes down first.
async fn stop_on_ctrl_c(cancel: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    say("\ncodex-ls: cancelling the run (press Ctrl-C again to quit at once)");
    cancel.cancel();
    if tokio::signal::ctrl_c().await.is_ok() {
        crate::codex::process::kill_and_reap_descendants(QUIT_DEADLINE, &[]);
        std::process::exit(EXIT_INTERRUPTED);
    }
}

/// How long a second Ctrl-C waits for Codex's processes to go.
const QUIT_DEADLINE: std::time::Duration = std::time::Duration::from_millis(200);

/// The exit code of a run the user interrupted (128 + SIGINT, as shells do).
pub const EXIT_INTERRUPTED: i32 = 130;

fn context_for(args: &AskArgs, config: &Config) -> Result<RunContext, PromptRunError> {
    let file =
        std::fs::canonicalize(&args.file).map_err(|_| PromptRunError::AttachmentNotFound {
            path: args.file.clone(),
        })?;
    let buffer = std::fs::read_to_string(&file).map_err(|err| {
        PromptRunError::Runtime(format!("could not read {}: {err}", file.display()))
    })?;
    let selection = match args.lines {
        Some((first, last)) => Some(select_lines(&buffer, first, last)?),
        None => None,
    };
    let cwd = std::env::current_dir()
        .ok()
        .filter(|cwd| file.starts_with(cwd));
    Ok(RunContext {
        workspace_folders: cwd.into_iter().collect(),
        fallback_name: file.display().to_string(),
        file_path: Some(file),
        language_id: language_of(&args.file),
        buffer,
        selection,
        inline_selection_limit: config.inline_selection_limit,
    })
}

/// Lines `first..=last` (1-based) of `text`, with their line breaks.
fn select_lines(text: &str, first: u32, last: u32) -> Result<Selection, PromptRunError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let count = lines.len() as u32;
    if first > count {
        return Err(PromptRunError::Runtime(format!(
            "--range starts at line {first} but the file has {count} lines"
        )));
    }
    let last = last.min(count);
    let selected = lines[(first - 1) as usize..last as usize].concat();
    Ok(Selection {
        text: selected,
        first_line: first - 1,
        last_line: last - 1,
    })
}

/// A language id from the file's extension (the model only reads it as a
/// hint).
fn language_of(path: &Path) -> String {
    path.extension()
        .map(|ext| ext.to_string_lossy().into_owned())
        .unwrap_or_else(|| "plaintext".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_file_range_path_and_prompt() {
        let args = parse_args(["--file", "a.rs", "--range", "2:4", "Explain", "this"]).unwrap();
        assert_eq!(
            args,
            AskArgs {
                file: "a.rs".into(),
                lines: Some((2, 4)),
                codex_path: None,
                prompt: "Explain this".into(),
                verbose: false,
                conversation: AskConversation::New,
            }
        );
        let continued = parse_args(["--file", "a", "--continue", "x"]).unwrap();
        assert_eq!(continued.conversation, AskConversation::Last);
        let named = parse_args(["--file", "a", "--thread", "t-1", "x"]).unwrap();
        assert_eq!(named.conversation, AskConversation::Thread("t-1".into()));
        assert!(
            parse_args(["--file", "a", "--continue", "--thread", "t", "x"]).is_err(),
            "one or the other"
        );
        // Options may come between the prompt's words, as before.
        let args = parse_args(["Explain", "--codex-path", "/c", "--file", "a", "this"]).unwrap();
        assert_eq!(
            (args.prompt.as_str(), args.codex_path.as_deref()),
            ("Explain this", Some("/c"))
        );
        assert!(parse_args(["Explain"]).is_err());
        assert!(parse_args(["--file", "a", "--range", "4:2", "x"]).is_err());
        assert!(parse_args(["--file", "a", "--range", "0:2", "x"]).is_err());
        assert!(parse_args(["--file", "a"]).is_err());
        assert!(parse_args(["--file", "a", "--bogus", "x"]).is_err());
        assert!(parse_args(["--file", "a", "--range"]).is_err());
    }

    #[test]
    fn arguments_that_are_not_utf8_are_errors_or_paths() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(b"\xffx".to_vec());
        // A path need not be UTF-8.
        let args = parse_args([OsString::from("--file"), bad.clone(), "x".into()]).unwrap();
        assert_eq!(args.file, PathBuf::from(bad.clone()));
        // Text must be.
        for args in [
            vec!["--file".into(), "a".into(), bad.clone()],
            vec![
                "--file".into(),
                "a".into(),
                "--range".into(),
                bad.clone(),
                "x".into(),
            ],
            vec![
                "--file".into(),
                "a".into(),
                "--codex-path".into(),
                bad.clone(),
                "x".into(),
            ],
        ] {
            let err = parse_args(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{err}");
        }
    }

    #[test]
    fn selects_inclusive_one_based_lines() {
        let selection = select_lines("a\nb\nc\n", 2, 3).unwrap();
        assert_eq!(
            selection,
            Selection {
                text: "b\nc\n".into(),
                first_line: 1,
                last_line: 2
            }
        );
        assert_eq!(select_lines("a\nb", 2, 9).unwrap().text, "b");
        assert!(select_lines("a\n", 5, 6).is_err());
    }
}
