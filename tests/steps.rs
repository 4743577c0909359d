//! The agent's steps, end to end against the real `codex app-server` and the
//! mock model: a command the model runs (with its output and exit code, in
//! order with the answer), a retried stream, a file change with its diff, a
//! reasoning summary, typed approvals, and `codex-ls ask` printing steps.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::editor::{initialize_params, open_document, progress_until_end, spawn_binary};
use support::lsp_client::TestClient;
use support::mock_model::{MockModel, Scenario};
use support::tools::codex_binary;
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(30);

struct Harness {
    client: TestClient,
    _child: Child,
    /// Kept alive: the model server stops when dropped.
    _mock: MockModel,
    home: tempfile::TempDir,
    workspace: tempfile::TempDir,
}

impl Harness {
    /// codex-ls with the real codex, whose `config.toml` is the mock's with
    /// `edit_config` applied to it.
    async fn start(
        scenarios: Vec<Scenario>,
        capabilities: Value,
        options: Value,
        edit_config: impl FnOnce(String) -> String,
    ) -> Harness {
        let mock = MockModel::start(scenarios).await;
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("config.toml"),
            edit_config(mock.codex_config_toml()),
        )
        .unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let stderr = std::fs::File::create(home.path().join("codex-ls.log")).unwrap();
        let (child, mut client) = spawn_binary(home.path(), Some("debug"), Stdio::from(stderr));
        let mut options = options;
        options["codexPath"] = json!(codex_binary().display().to_string());
        client
            .initialize(initialize_params(workspace.path(), capabilities, options))
            .await;
        Harness {
            client,
            _child: child,
            _mock: mock,
            home,
            workspace,
        }
    }

    /// Opens `a.rs` and runs a prompt on it with progress token `token`.
    async fn run(&mut self, token: &str) {
        let uri = open_document(
            &mut self.client,
            self.workspace.path(),
            "a.rs",
            "fn a() {}\n",
            Some("fn a() {}\n"),
        )
        .await;
        self.client
            .request(
                "workspace/executeCommand",
                json!({"command": "codex.run", "arguments": [
                    {"textDocument": {"uri": uri}, "prompt": "Do it", "progressToken": token}
                ]}),
            )
            .await
            .unwrap();
    }

    /// codex-ls with a client that takes typed approvals, and Codex asking
    /// for them (`approvalPolicy: "on-request"`).
    async fn asking(scenarios: Vec<Scenario>) -> Harness {
        let caps = json!({
            "window": {"workDoneProgress": true, "showMessage": {}},
            "experimental": {"codex": {"approvals": true}},
        });
        Harness::start(
            scenarios,
            caps,
            json!({"approvalPolicy": "on-request"}),
            same,
        )
        .await
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("codex-ls.log")).unwrap_or_default()
    }
}

fn caps() -> Value {
    json!({"window": {"workDoneProgress": true, "showMessage": {}}})
}

fn same(config: String) -> String {
    config
}

/// The steps as a client folds the reports' `items`: fields replace, `text`
/// and `outputDelta` append. Also the index of the report where each step
/// first appeared, and of the first report with answer text.
struct Folded {
    steps: Vec<Value>,
    first_seen: Vec<usize>,
    first_text: Option<usize>,
}

fn fold(reports: &[Value]) -> Folded {
    let mut folded = Folded {
        steps: Vec::new(),
        first_seen: Vec::new(),
        first_text: None,
    };
    for (index, report) in reports.iter().enumerate() {
        if folded.first_text.is_none() && report["codex"]["delta"] != "" {
            folded.first_text = Some(index);
        }
        for update in report["codex"]["items"].as_array().into_iter().flatten() {
            let known = folded.steps.iter().position(|s| s["id"] == update["id"]);
            let position = known.unwrap_or_else(|| {
                folded
                    .steps
                    .push(json!({"id": update["id"], "text": "", "output": ""}));
                folded.first_seen.push(index);
                folded.steps.len() - 1
            });
            let step = &mut folded.steps[position];
            for (key, value) in update.as_object().unwrap() {
                match key.as_str() {
                    "text" => {
                        let text = format!(
                            "{}{}",
                            step["text"].as_str().unwrap(),
                            value.as_str().unwrap()
                        );
                        step["text"] = json!(text);
                    }
                    "outputDelta" => {
                        let output = format!(
                            "{}{}",
                            step["output"].as_str().unwrap(),
                            value.as_str().unwrap()
                        );
                        step["output"] = json!(output);
                    }
                    _ => step[key] = value.clone(),
                }
            }
        }
    }
    folded
}

fn of_type<'a>(steps: &'a [Value], kind: &str) -> Vec<&'a Value> {
    steps.iter().filter(|step| step["type"] == kind).collect()
}

#[tokio::test]
async fn a_command_the_agent_runs_shows_its_output_and_exit_code_before_the_answer() {
    let scenarios = vec![
        Scenario::SandboxedCommand {
            call_id: "call_steps_1".into(),
            cmd: "echo step-output-42".into(),
        },
        Scenario::text(["The command ", "said hello."]),
    ];
    let mut h = Harness::start(scenarios, caps(), json!({}), same).await;
    h.run("st").await;
    let (reports, end) = progress_until_end(&mut h.client, &json!("st")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}\n{}", h.log());
    let folded = fold(&reports);
    let commands = of_type(&folded.steps, "command");
    assert_eq!(commands.len(), 1, "{:?}", folded.steps);
    let command = commands[0];
    assert_eq!(command["command"], "echo step-output-42");
    assert_eq!(command["status"], "completed");
    assert_eq!(command["exitCode"], 0);
    assert!(
        command["output"]
            .as_str()
            .unwrap()
            .contains("step-output-42"),
        "{command}"
    );
    assert_eq!(command["title"], "Ran `echo step-output-42` (exit 0)");
    assert!(command["cwd"].is_string(), "{command}");
    // In order: the command before the answer's first text.
    let seen = folded.first_seen[folded.steps.iter().position(|s| s == command).unwrap()];
    assert!(seen < folded.first_text.unwrap(), "{reports:?}");
    let running = reports.iter().any(|r| {
        r["message"] == "Running `echo step-output-42`"
            || r["message"] == "Ran `echo step-output-42` (exit 0)"
    });
    assert!(running, "no report says the step: {reports:?}");
    // The end keeps every step's final state, and the turn's tokens.
    let final_command = end["codex"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["type"] == "command")
        .unwrap();
    assert!(
        final_command["output"]
            .as_str()
            .unwrap()
            .contains("step-output-42")
    );
    assert_eq!(final_command["exitCode"], 0);
    let usage = &end["codex"]["usage"];
    assert!(usage["totalTokens"].as_u64().unwrap() > 0, "{end}");
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn a_retried_stream_shows_a_retry_step() {
    let scenarios = vec![
        Scenario::Reset {
            chunks_before: vec!["Half an ans".into()],
        },
        Scenario::text(["The whole answer."]),
    ];
    let retries =
        |config: String| config.replace("stream_max_retries = 0", "stream_max_retries = 1");
    let mut h = Harness::start(scenarios, caps(), json!({}), retries).await;
    h.run("rt").await;
    let (reports, end) = progress_until_end(&mut h.client, &json!("rt")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}\n{}", h.log());
    assert_eq!(end["codex"]["assistantText"], "The whole answer.");
    let folded = fold(&reports);
    let retries = of_type(&folded.steps, "retry");
    assert_eq!(retries.len(), 1, "{:?}", folded.steps);
    assert_eq!(
        retries[0]["title"], "Reconnecting (1/1)",
        "{:?}",
        retries[0]
    );
    assert_eq!(retries[0]["status"], "completed", "the retry worked");
    assert!(
        reports.iter().any(|r| r["message"] == "Reconnecting (1/1)"),
        "{reports:?}"
    );
    h.client.shutdown_and_exit().await;
}

const ADD_FILE_PATCH: &str = "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: added.txt\n+hello from the patch\n*** End Patch\nEOF\n";

/// `file` is the file `ADD_FILE_PATCH` adds, with its content as the diff.
fn assert_adds_the_patched_file(file: &Value) {
    let path = file["path"].as_str().unwrap_or_default();
    assert!(path.ends_with("/added.txt"), "{file}");
    assert_eq!(file["kind"], "add", "{file}");
    let diff = file["diff"].as_str().unwrap_or_default();
    assert!(diff.contains("hello from the patch"), "{file}");
}

#[tokio::test]
async fn a_file_change_shows_its_diff() {
    let scenarios = vec![
        Scenario::SandboxedCommand {
            call_id: "call_patch_1".into(),
            cmd: ADD_FILE_PATCH.into(),
        },
        Scenario::text(["Added the file."]),
    ];
    let mut h = Harness::start(
        scenarios,
        caps(),
        json!({"sandbox": "workspace-write"}),
        same,
    )
    .await;
    h.run("fc").await;
    let (reports, end) = progress_until_end(&mut h.client, &json!("fc")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}\n{}", h.log());
    let folded = fold(&reports);
    let changes = of_type(&folded.steps, "fileChange");
    assert_eq!(changes.len(), 1, "{:?}", folded.steps);
    assert_eq!(changes[0]["status"], "completed");
    assert_eq!(changes[0]["title"], "Edited added.txt");
    assert_adds_the_patched_file(&changes[0]["changes"][0]);
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn a_reasoning_summary_is_a_reasoning_step() {
    let scenarios = vec![Scenario::Reasoned {
        summary: vec!["**Reading the code**\n\n".into(), "It looks fine.".into()],
        chunks: vec!["All good.".into()],
    }];
    let mut h = Harness::start(scenarios, caps(), json!({}), same).await;
    h.run("rs").await;
    let (reports, end) = progress_until_end(&mut h.client, &json!("rs")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}\n{}", h.log());
    let folded = fold(&reports);
    let reasoning = of_type(&folded.steps, "reasoning");
    assert_eq!(reasoning.len(), 1, "{:?}", folded.steps);
    assert_eq!(
        reasoning[0]["text"], "**Reading the code**\n\nIt looks fine.",
        "{:?}",
        reasoning[0]
    );
    assert_eq!(reasoning[0]["status"], "completed");
    assert!(
        reports
            .iter()
            .any(|r| r["message"].as_str().unwrap().starts_with("Thinking")),
        "{reports:?}"
    );
    h.client.shutdown_and_exit().await;
}

/// A client that takes typed approvals gets `codex/requestApproval` with the
/// command, and never a message request.
#[tokio::test]
async fn a_typed_approval_names_the_command_and_its_decision_is_applied() {
    let scenarios = vec![
        Scenario::ExecCommand {
            call_id: "call_typed_1".into(),
            cmd: "echo typed > typed-approval.txt".into(),
            justification: "The test wants a file".into(),
        },
        Scenario::text(["Done."]),
    ];
    let mut h = Harness::asking(scenarios).await;
    h.run("ta").await;
    let (id, params) = h.client.expect_request("codex/requestApproval", WAIT).await;
    assert_eq!(params["kind"], "command", "{params}");
    assert_eq!(params["title"], "Codex wants to run a command");
    assert!(
        params["command"]
            .as_str()
            .unwrap()
            .contains("typed-approval.txt"),
        "{params}"
    );
    assert_eq!(params["reason"], "The test wants a file");
    assert!(params["runId"].is_u64());
    let decisions = params["decisions"].as_array().unwrap();
    assert!(decisions.contains(&json!("accept")) && decisions.contains(&json!("decline")));
    h.client.respond(id, json!({"decision": "accept"})).await;
    let (_, end) = progress_until_end(&mut h.client, &json!("ta")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert!(
        h.workspace.path().join("typed-approval.txt").exists(),
        "{}",
        h.log()
    );
    h.client.shutdown_and_exit().await;
}

/// A file change the agent must ask for (a read-only sandbox) comes with
/// its diff; a `null` answer declines it and the file is not written.
#[tokio::test]
async fn a_typed_file_change_approval_carries_the_diff_and_null_declines() {
    let scenarios = vec![
        Scenario::SandboxedCommand {
            call_id: "call_patch_2".into(),
            cmd: ADD_FILE_PATCH.into(),
        },
        Scenario::text(["Could not add it."]),
    ];
    let mut h = Harness::asking(scenarios).await;
    h.run("tf").await;
    let (id, params) = h.client.expect_request("codex/requestApproval", WAIT).await;
    assert_eq!(params["kind"], "fileChange", "{params}");
    assert_adds_the_patched_file(&params["changes"][0]);
    h.client.respond(id, Value::Null).await;
    let (reports, end) = progress_until_end(&mut h.client, &json!("tf")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert!(!h.workspace.path().join("added.txt").exists());
    let folded = fold(&reports);
    let changes = of_type(&folded.steps, "fileChange");
    assert_eq!(changes.len(), 1, "{:?}", folded.steps);
    assert_eq!(changes[0]["status"], "declined", "{:?}", changes[0]);
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn ask_prints_the_steps_on_stderr_and_the_answer_on_stdout() {
    let scenarios = |call_id: &str| {
        vec![
            Scenario::SandboxedCommand {
                call_id: call_id.into(),
                cmd: "echo ask-output-7".into(),
            },
            Scenario::text(["It printed."]),
        ]
    };
    let mock = MockModel::start(scenarios("call_ask_1")).await;
    let home = tempfile::tempdir().unwrap();
    mock.write_codex_home(home.path());
    let file = home.path().join("main.rs");
    std::fs::write(&file, "fn main() {}\n").unwrap();
    let ask = |verbose: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_codex-ls"));
        command
            .args(["ask", "--file"])
            .arg(&file)
            .arg("--codex-path")
            .arg(codex_binary());
        if verbose {
            command.arg("--verbose");
        }
        command
            .arg("Run it")
            .env("CODEX_HOME", home.path())
            .current_dir(home.path());
        command
    };
    let output = tokio::time::timeout(WAIT, ask(true).output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), "It printed.\n");
    assert!(
        stderr.contains("✓ Ran `echo ask-output-7` (exit 0)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    ask-output-7"),
        "verbose prints the output: {stderr}"
    );
    mock.set_scenarios(scenarios("call_ask_2"));
    let quiet = tokio::time::timeout(WAIT, ask(false).output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&quiet.stderr);
    assert!(
        stderr.contains("✓ Ran `echo ask-output-7` (exit 0)"),
        "{stderr}"
    );
    assert!(!stderr.contains("    ask-output-7"), "{stderr}");
    assert_eq!(mock.requests().len(), 4);
}
