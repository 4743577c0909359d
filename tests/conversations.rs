//! Conversations end to end against the real `codex app-server` and the
//! mock model (issue 14, requirements 1 and 5): a conversation's history
//! read back from Codex (also by a new codex-ls process), the list of
//! earlier conversations, reopening one, follow-ups by thread, steering a
//! running turn, fork and undo, the busy rule, and `ask --continue` /
//! `--thread`.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use support::editor::{
    initialize_params, next_progress, open_document, progress_until_end, spawn_binary,
    streamed_text,
};
use support::lsp_client::TestClient;
use support::mock_model::{MockModel, Scenario, input_texts};
use support::tools::codex_binary;
use tokio::process::Child;

const WAIT: Duration = Duration::from_secs(60);

struct Harness {
    client: TestClient,
    _child: Child,
    mock: MockModel,
    home: tempfile::TempDir,
    workspace: tempfile::TempDir,
}

impl Harness {
    async fn start(scenarios: Vec<Scenario>) -> Harness {
        let mock = MockModel::start(scenarios).await;
        let home = tempfile::tempdir().unwrap();
        std::fs::write(home.path().join("config.toml"), mock.codex_config_toml()).unwrap();
        let workspace = tempfile::tempdir().unwrap();
        let (child, client) = spawn(home.path(), workspace.path()).await;
        Harness {
            client,
            _child: child,
            mock,
            home,
            workspace,
        }
    }

    async fn open(&mut self, name: &str) -> String {
        open_document(
            &mut self.client,
            self.workspace.path(),
            name,
            "fn a() {}\n",
            Some("fn a() {}\n"),
        )
        .await
    }

    async fn command(&mut self, command: &str, argument: Value) -> Result<Value, Value> {
        command_on(&mut self.client, command, argument).await
    }

    /// Runs `prompt` on `uri` (with `extra` fields) to its end; returns the
    /// `end` value and the reports.
    async fn run(
        &mut self,
        uri: &str,
        prompt: &str,
        token: &str,
        extra: Value,
    ) -> (Vec<Value>, Value) {
        let mut argument =
            json!({"textDocument": {"uri": uri}, "prompt": prompt, "progressToken": token});
        for (key, value) in extra.as_object().unwrap() {
            argument[key] = value.clone();
        }
        self.command("codex.run", argument).await.unwrap();
        progress_until_end(&mut self.client, &json!(token)).await
    }

    /// The texts of the mock's last request.
    fn last_request_texts(&self) -> String {
        input_texts(self.mock.requests().last().unwrap()).join("\n")
    }
}

async fn spawn(home: &std::path::Path, workspace: &std::path::Path) -> (Child, TestClient) {
    let stderr = std::fs::File::options()
        .create(true)
        .append(true)
        .open(home.join("codex-ls.log"))
        .unwrap();
    let (child, mut client) = spawn_binary(home, Some("debug"), Stdio::from(stderr));
    client
        .initialize(initialize_params(
            workspace,
            json!({"window": {"workDoneProgress": true, "showMessage": {}}}),
            json!({"codexPath": codex_binary().display().to_string()}),
        ))
        .await;
    client.allow_unclaimed("window/showMessage");
    client.allow_unclaimed("textDocument/publishDiagnostics");
    (child, client)
}

async fn command_on(
    client: &mut TestClient,
    command: &str,
    argument: Value,
) -> Result<Value, Value> {
    client
        .request_with_timeout(
            "workspace/executeCommand",
            json!({"command": command, "arguments": [argument]}),
            WAIT,
        )
        .await
}

/// The thread a run's reports name.
fn thread_of(reports: &[Value]) -> String {
    reports
        .iter()
        .find_map(|report| report["codex"]["threadId"].as_str())
        .unwrap_or_else(|| panic!("no threadId in {reports:?}"))
        .to_string()
}

fn prompts_and_answers(view: &Value) -> Vec<(String, String)> {
    view["turns"]
        .as_array()
        .unwrap_or_else(|| panic!("no turns in {view}"))
        .iter()
        .map(|turn| {
            (
                turn["prompt"].as_str().unwrap().to_string(),
                turn["answer"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn two_runs_make_a_conversation_read_back_from_codex_also_by_a_new_process() {
    let mut harness = Harness::start(vec![
        Scenario::text(["First answer"]),
        Scenario::text(["Second answer"]),
    ])
    .await;
    let uri = harness.open("a.rs").await;
    let (reports, _) = harness.run(&uri, "First question", "t1", json!({})).await;
    let thread = thread_of(&reports);
    harness.run(&uri, "Second question", "t2", json!({})).await;

    let view = harness
        .command("codex.conversation", json!({"textDocument": {"uri": uri}}))
        .await
        .unwrap();
    assert_eq!(view["threadId"], json!(thread));
    let expected = vec![
        ("First question".to_string(), "First answer".to_string()),
        ("Second question".to_string(), "Second answer".to_string()),
    ];
    assert_eq!(prompts_and_answers(&view), expected, "{view}");
    assert_eq!(view["title"], "First question");
    for turn in view["turns"].as_array().unwrap() {
        assert_eq!(turn["status"], "completed");
        assert!(
            turn["turnId"].is_string() && turn["startedAt"].is_i64(),
            "{turn}"
        );
        assert!(turn["items"].is_array());
    }

    let listed = harness
        .command("codex.conversations", json!({}))
        .await
        .unwrap();
    let entry = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["threadId"] == json!(thread))
        .unwrap_or_else(|| panic!("the conversation is listed: {listed}"));
    assert_eq!(entry["turns"], 2);
    assert_eq!(entry["title"], "First question");
    assert!(entry["updatedAt"].is_i64());

    // A new codex-ls process (a restart, an editor reload) with the same
    // CODEX_HOME reads the same conversation.
    let (_child, mut again) = spawn(harness.home.path(), harness.workspace.path()).await;
    let view = command_on(
        &mut again,
        "codex.conversation",
        json!({"threadId": thread}),
    )
    .await
    .unwrap();
    assert_eq!(prompts_and_answers(&view), expected);
    let listed = command_on(&mut again, "codex.conversations", json!({}))
        .await
        .unwrap();
    assert!(
        listed["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["threadId"] == json!(thread))
    );
}

#[tokio::test]
async fn a_busy_conversation_refuses_a_second_run_and_steering_restarts_the_answer() {
    let mut harness = Harness::start(vec![
        Scenario::Hang {
            chunks_before: vec!["Partial answer".to_string()],
        },
        Scenario::text(["Steered answer"]),
    ])
    .await;
    let uri = harness.open("a.rs").await;
    let started = harness
        .command(
            "codex.run",
            json!({"textDocument": {"uri": uri}, "prompt": "Slow question", "progressToken": "t1"}),
        )
        .await
        .unwrap();
    let run_id = started["runId"].clone();
    // Wait until the partial answer streams: the turn runs.
    let mut reports = Vec::new();
    loop {
        let value = next_progress(&mut harness.client, &json!("t1")).await;
        assert_ne!(value["kind"], "end", "ended early: {value}");
        let partial = value["codex"]["delta"]
            .as_str()
            .is_some_and(|d| d.contains("Partial"));
        if value["kind"] == "report" {
            reports.push(value);
        }
        if partial {
            break;
        }
    }

    let refused = harness
        .command(
            "codex.run",
            json!({"textDocument": {"uri": uri}, "prompt": "Another", "progressToken": "t2"}),
        )
        .await
        .expect_err("a second run on a busy conversation is refused");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("busy")
            && message.contains("codex.steer")
            && message.contains("codex.cancel"),
        "{refused}"
    );
    assert_eq!(refused["data"]["busy"], true);

    // Queued, it waits behind the first instead.
    harness
        .command("codex.run", json!({"textDocument": {"uri": uri}, "prompt": "Queued question", "progressToken": "t3", "queue": true}))
        .await
        .unwrap();

    let steered = harness
        .command(
            "codex.steer",
            json!({"runId": run_id, "prompt": "Answer differently"}),
        )
        .await
        .unwrap();
    assert!(steered["turnId"].is_string(), "{steered}");
    let (rest, end) = progress_until_end(&mut harness.client, &json!("t1")).await;
    reports.extend(rest);
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert!(
        reports.iter().any(|r| r["codex"]["reset"] == true),
        "the answer restarts: {reports:?}"
    );
    assert_eq!(streamed_text(&reports).trim(), "Steered answer");
    let steer_request = harness
        .mock
        .requests()
        .iter()
        .map(|body| input_texts(body).join("\n"))
        .find(|texts| texts.contains("Answer differently"));
    assert!(steer_request.is_some(), "the model got the steer");

    let (_, queued) = progress_until_end(&mut harness.client, &json!("t3")).await;
    assert_eq!(
        queued["codex"]["status"], "completed",
        "the queued run ran after: {queued}"
    );
}

#[tokio::test]
async fn reopen_fork_and_undo_change_what_the_next_request_carries() {
    let mut harness = Harness::start(vec![Scenario::text(["Noted"])]).await;
    let a = harness.open("a.rs").await;
    let (reports, _) = harness.run(&a, "Remember ALPHA", "t1", json!({})).await;
    let thread = thread_of(&reports);
    harness.run(&a, "Remember BRAVO", "t2", json!({})).await;
    let view = harness
        .command("codex.conversation", json!({"threadId": thread}))
        .await
        .unwrap();
    let first_turn = view["turns"][0]["turnId"].clone();

    // Fork through the first turn, and open the fork on another document:
    // its run carries ALPHA but not BRAVO.
    let forked = harness
        .command(
            "codex.fork",
            json!({"threadId": thread, "turnId": first_turn}),
        )
        .await
        .unwrap();
    let fork = forked["threadId"].as_str().unwrap().to_string();
    assert_ne!(fork, thread);
    assert_eq!(forked["forkedFromId"], json!(thread));
    let b = harness.open("b.rs").await;
    let opened = harness
        .command(
            "codex.openConversation",
            json!({"threadId": fork, "textDocument": {"uri": b}}),
        )
        .await
        .unwrap();
    assert_eq!(opened["threadId"], json!(fork));
    harness
        .command(
            "codex.run",
            json!({"textDocument": {"uri": b}, "prompt": "On the fork CHARLIE", "progressToken": "t3"}),
        )
        .await
        .unwrap();
    let begin = next_progress(&mut harness.client, &json!("t3")).await;
    assert_eq!(begin["kind"], "begin");
    assert!(
        !begin["message"].as_str().unwrap().contains("restarted"),
        "reopening a conversation is no restart: {begin}"
    );
    let (reports, _) = progress_until_end(&mut harness.client, &json!("t3")).await;
    assert_eq!(
        thread_of(&reports),
        fork,
        "the run continued the opened thread"
    );
    let texts = harness.last_request_texts();
    assert!(
        texts.contains("Remember ALPHA") && !texts.contains("Remember BRAVO"),
        "{texts}"
    );

    // Undo the last exchange of the first thread, then follow up on it by
    // thread id: BRAVO is gone from what the model gets.
    let undone = harness
        .command("codex.undoLast", json!({"threadId": thread}))
        .await
        .unwrap();
    assert_eq!(undone["turnId"], view["turns"][1]["turnId"]);
    let (reports, _) = harness
        .run(&a, "Follow-up DELTA", "t4", json!({"threadId": thread}))
        .await;
    assert_eq!(thread_of(&reports), thread);
    let texts = harness.last_request_texts();
    assert!(texts.contains("Remember ALPHA"), "{texts}");
    assert!(
        !texts.contains("Remember BRAVO"),
        "the undone exchange is gone: {texts}"
    );
    assert!(
        !texts.contains("CHARLIE"),
        "the fork's turn is not in the original"
    );

    // A follow-up from a document with no conversation continues the thread too.
    let c = harness.open("c.rs").await;
    harness
        .run(&c, "From elsewhere ECHO", "t5", json!({"threadId": fork}))
        .await;
    let texts = harness.last_request_texts();
    assert!(
        texts.contains("CHARLIE") && texts.contains("Remember ALPHA"),
        "{texts}"
    );
}

/// `codex-ls ask` on `file`, in `dir`, with `flags` before the prompt;
/// returns stderr, after checking it succeeded.
async fn ask(
    home: &std::path::Path,
    dir: &std::path::Path,
    flags: &[&str],
    prompt: &str,
) -> String {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-ls"));
    command
        .args(["ask", "--file", "main.rs", "--codex-path"])
        .arg(codex_binary())
        .args(flags)
        .arg(prompt)
        .env("CODEX_HOME", home)
        .current_dir(dir)
        .kill_on_drop(true);
    let output = tokio::time::timeout(WAIT, command.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

#[tokio::test]
async fn ask_continues_the_last_conversation_or_a_named_thread() {
    let mock = MockModel::start(vec![Scenario::text(["Noted"])]).await;
    let home = tempfile::tempdir().unwrap();
    mock.write_codex_home(home.path());
    let dir = home.path().join("ws");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.rs"), "fn main() {}\n").unwrap();
    let texts = || input_texts(mock.requests().last().unwrap()).join("\n");

    let stderr = ask(home.path(), &dir, &[], "Remember ALPHA").await;
    let thread = stderr
        .lines()
        .find_map(|line| line.strip_prefix("codex-ls: thread "))
        .unwrap_or_else(|| panic!("ask names its thread: {stderr}"))
        .trim()
        .to_string();

    ask(home.path(), &dir, &["--continue"], "Then BRAVO").await;
    let carried = texts();
    assert!(
        carried.contains("Remember ALPHA"),
        "--continue carries the last conversation: {carried}"
    );

    // A new conversation, then back to the first by its id.
    ask(home.path(), &dir, &[], "Unrelated CHARLIE").await;
    assert!(
        !texts().contains("Remember ALPHA"),
        "without a flag, a new conversation"
    );
    ask(home.path(), &dir, &["--thread", &thread], "And DELTA").await;
    let carried = texts();
    assert!(
        carried.contains("Remember ALPHA")
            && carried.contains("Then BRAVO")
            && !carried.contains("CHARLIE"),
        "--thread continues that thread: {carried}"
    );
}
