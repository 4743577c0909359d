//! End-to-end tests against the real `codex app-server` (the Codex CLI that
//! `scripts/test.sh` installs into .tools/codex) and our mock Responses API
//! on 127.0.0.1. `codex-ls` runs as a child process over stdio, as an editor
//! starts it.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::editor::{
    initialize_params, open_document, progress_until_end, spawn_binary, streamed_text,
};
use support::lsp_client::TestClient;
use support::mock_model::{MockModel, Scenario, call_outputs, input_texts, says_declined};
use support::processes::{descendants, wait_all_gone};
use support::tools::codex_binary;
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(30);

struct Harness {
    client: TestClient,
    child: Child,
    mock: MockModel,
    home: tempfile::TempDir,
    workspace: tempfile::TempDir,
}

impl Harness {
    async fn start(scenarios: Vec<Scenario>, codex_path: Option<&str>) -> Harness {
        let options = match codex_path {
            Some(path) => json!({"codexPath": path}),
            None => json!({}),
        };
        Harness::start_with(
            scenarios,
            json!({"window": {"workDoneProgress": true}}),
            options,
        )
        .await
    }

    /// Starts codex-ls with the client `capabilities` and `options` (the
    /// real codex unless `options` names another `codexPath`).
    async fn start_with(scenarios: Vec<Scenario>, capabilities: Value, options: Value) -> Harness {
        let mock = MockModel::start(scenarios).await;
        let home = tempfile::tempdir().unwrap();
        mock.write_codex_home(home.path());
        let workspace = tempfile::tempdir().unwrap();
        let stderr = std::fs::File::create(home.path().join("codex-ls.log")).unwrap();
        let (child, mut client) = spawn_binary(home.path(), Some("debug"), Stdio::from(stderr));
        let mut options = options;
        if options.get("codexPath").is_none() {
            options["codexPath"] = json!(codex_binary().display().to_string());
        }
        client
            .initialize(initialize_params(workspace.path(), capabilities, options))
            .await;
        Harness {
            client,
            child,
            mock,
            home,
            workspace,
        }
    }

    async fn open(&mut self, relative: &str, text: &str, on_disk: Option<&str>) -> String {
        open_document(
            &mut self.client,
            self.workspace.path(),
            relative,
            text,
            on_disk,
        )
        .await
    }

    async fn command(&mut self, command: &str, args: Value) -> Value {
        self.client
            .request(
                "workspace/executeCommand",
                json!({"command": command, "arguments": [args]}),
            )
            .await
            .unwrap_or_else(|err| panic!("{command} failed: {err}"))
    }

    async fn run(&mut self, args: Value) -> Value {
        self.command("codex.run", args).await
    }

    /// Runs "Explain" on `uri` with progress token `token`.
    async fn explain(&mut self, uri: &str, token: &str) {
        self.run(
            json!({"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": token}),
        )
        .await;
    }

    async fn status(&mut self) -> Value {
        self.command("codex.status", json!({})).await
    }

    /// Starts codex-ls with a model that streams a little, then hangs, and
    /// a run on `a.rs` with progress token `token`; returns once the first
    /// report arrived, with the document's URI.
    async fn hung_run(token: &str) -> (Harness, String) {
        let scenario = Scenario::Hang {
            chunks_before: vec!["Thinking".into()],
        };
        let mut h = Harness::start(vec![scenario], None).await;
        let uri = h.open("a.rs", "x\n", Some("x\n")).await;
        h.explain(&uri, token).await;
        h.client
            .expect_notification_where("$/progress", |p| p["value"]["kind"] == "report", WAIT)
            .await;
        (h, uri)
    }

    /// Reads the run's progress until its end; returns (reports, end).
    async fn progress_until_end(&mut self, token: &Value) -> (Vec<Value>, Value) {
        progress_until_end(&mut self.client, token).await
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("codex-ls.log")).unwrap_or_default()
    }
}

fn selection(start_line: u32, end_line: u32) -> Value {
    json!({"start": {"line": start_line, "character": 0}, "end": {"line": end_line, "character": 0}})
}

/// The `@path` mentions in the request the model received.
fn mentions(body: &Value) -> Vec<PathBuf> {
    input_texts(body)
        .iter()
        .flat_map(|text| text.lines().filter_map(|line| line.strip_prefix('@')))
        .map(PathBuf::from)
        .collect()
}

#[tokio::test]
async fn dirty_buffer_with_selection_streams_the_answer_from_snapshots() {
    let chunks = ["The ", "answer ", "is ", "42", "."];
    let scenario = Scenario::Text {
        chunks: chunks.iter().map(|c| c.to_string()).collect(),
        delay: Duration::from_millis(150),
    };
    let mut h = Harness::start(vec![scenario], None).await;
    let unsaved = "fn unsaved() {\n    let answer = 42;\n}\n";
    let uri = h.open("src/lib.rs", unsaved, Some("fn saved() {}\n")).await;
    let started = h
        .run(json!({"textDocument": {"uri": uri}, "range": selection(1, 2), "prompt": "Explain", "progressToken": "dirty"}))
        .await;
    assert_eq!(started["token"], "dirty");

    assert!(
        h.mock.wait_requests(1, WAIT).await,
        "the model got no request; log:\n{}",
        h.log()
    );
    let body = &h.mock.requests()[0];
    let mentioned = mentions(body);
    let buffer = mentioned
        .iter()
        .find(|p| p.ends_with("buffer/src/lib.rs"))
        .expect("buffer snapshot mentioned")
        .clone();
    let selected = mentioned
        .iter()
        .find(|p| p.ends_with("selection/lib.lines-2-2.rs"))
        .expect("selection snapshot mentioned")
        .clone();
    // While the answer streams, the snapshots hold what the user sees.
    assert_eq!(std::fs::read_to_string(&buffer).unwrap(), unsaved);
    assert_eq!(
        std::fs::read_to_string(&selected).unwrap(),
        "    let answer = 42;\n"
    );
    assert!(
        input_texts(body)
            .iter()
            .any(|t| t.contains("unsaved content of `src/lib.rs`"))
    );

    let (reports, end) = h.progress_until_end(&json!("dirty")).await;
    assert_eq!(streamed_text(&reports), chunks.concat());
    assert_eq!(end["codex"]["status"], "completed");
    assert_eq!(end["codex"]["assistantText"], chunks.concat());
    assert!(
        !buffer.exists() && !selected.exists(),
        "snapshots must be gone when the run ends"
    );
    let seqs: Vec<u64> = reports
        .iter()
        .map(|r| r["codex"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn http_500_becomes_a_server_error_diagnostic_on_the_selection() {
    let mut h = Harness::start(
        vec![Scenario::HttpError {
            status: 500,
            message: "boom".into(),
        }],
        None,
    )
    .await;
    let uri = h
        .open("a.rs", "one\ntwo\nthree\n", Some("one\ntwo\nthree\n"))
        .await;
    h.run(json!({"textDocument": {"uri": uri}, "range": selection(1, 2), "prompt": "Explain", "progressToken": 7}))
        .await;
    let (_, end) = h.progress_until_end(&json!(7)).await;
    assert_eq!(end["codex"]["status"], "failed");
    assert_eq!(end["codex"]["error"]["code"], "server-error");
    let diagnostics = h
        .client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    let diagnostic = &diagnostics["diagnostics"][0];
    assert_eq!(diagnostic["code"], "server-error");
    assert_eq!(diagnostic["source"], "codex");
    assert_eq!(diagnostic["severity"], 2, "a failed run is a Warning");
    assert_eq!(diagnostic["range"], selection(1, 2));
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn cancel_interrupts_a_hung_model_within_a_second() {
    let (mut h, _) = Harness::hung_run("hang").await;
    let cancelled_at = Instant::now();
    h.client
        .notify("window/workDoneProgress/cancel", json!({"token": "hang"}))
        .await;
    let (_, end) = h.progress_until_end(&json!("hang")).await;
    let elapsed = cancelled_at.elapsed();
    assert_eq!(end["codex"]["status"], "interrupted");
    assert!(elapsed < Duration::from_secs(1), "cancel took {elapsed:?}");
    println!("time to cancel: {elapsed:?}");
    h.client.take_notifications("$/progress");
    h.client.shutdown_and_exit().await;
    assert!(h.client.wait_closed(WAIT).await, "codex-ls did not exit");
    assert!(
        h.client
            .take_notifications("textDocument/publishDiagnostics")
            .is_empty(),
        "a cancel publishes no diagnostic"
    );
}

#[tokio::test]
async fn a_killed_app_server_fails_the_run_at_once_and_the_next_run_starts_a_fresh_one() {
    let (mut h, uri) = Harness::hung_run("first").await;
    let status = h.status().await;
    assert_eq!(status["backend"]["state"], "ready");
    // The suite runs against the pinned version and npm `latest`.
    assert_eq!(
        status["backend"]["codexVersion"],
        support::tools::codex_version(&codex_binary())
    );
    assert_eq!(status["activeRuns"].as_array().unwrap().len(), 1);
    // Kill the app-server itself, as a crash would.
    let pid = native_codex(&status);
    let killed_at = Instant::now();
    // SAFETY: kill takes plain integers.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let (_, end) = h.progress_until_end(&json!("first")).await;
    let elapsed = killed_at.elapsed();
    assert_eq!(end["codex"]["error"]["code"], "backend-unavailable");
    assert!(
        elapsed < Duration::from_secs(1),
        "the run took {elapsed:?} to fail"
    );
    h.client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;

    h.mock
        .set_scenarios(vec![Scenario::text(["Fresh ", "answer."])]);
    h.explain(&uri, "second").await;
    let (reports, end) = h.progress_until_end(&json!("second")).await;
    assert_eq!(end["codex"]["status"], "completed", "log:\n{}", h.log());
    assert_eq!(streamed_text(&reports), "Fresh answer.");
    // Success clears the failure diagnostic.
    let cleared = h
        .client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    assert_eq!(cleared["diagnostics"], json!([]));
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn a_missing_codex_binary_is_a_backend_unavailable_diagnostic() {
    let mut h = Harness::start(
        vec![Scenario::text(["unused"])],
        Some("/nonexistent/bin/codex"),
    )
    .await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    h.explain(&uri, "missing").await;
    let (_, end) = h.progress_until_end(&json!("missing")).await;
    assert_eq!(end["codex"]["error"]["code"], "backend-unavailable");
    let diagnostics = h
        .client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    let message = diagnostics["diagnostics"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("@openai/codex") && message.contains("codexPath"),
        "{message}"
    );
    h.client.shutdown_and_exit().await;
}

async fn leaves_no_process_behind(end_session: impl AsyncFnOnce(&mut TestClient)) {
    let (mut h, _) = Harness::hung_run("busy").await;
    let server_pid = h.child.id().unwrap();
    let tree = descendants(server_pid);
    assert!(!tree.is_empty(), "codex app-server should be running");
    let ended_at = Instant::now();
    end_session(&mut h.client).await;
    let status = tokio::time::timeout(Duration::from_secs(2), h.child.wait()).await;
    assert!(status.is_ok(), "codex-ls did not exit within 2 s");
    let left = wait_all_gone(
        &tree,
        Duration::from_secs(2).saturating_sub(ended_at.elapsed()),
    )
    .await;
    assert!(left.is_empty(), "processes left behind: {left:?}");
    println!(
        "process tree of {} gone after {:?}",
        tree.len(),
        ended_at.elapsed()
    );
    h.client.take_notifications("$/progress");
    h.client.allow_unclaimed("$/progress");
}

#[tokio::test]
async fn exit_without_shutdown_leaves_no_process_behind() {
    leaves_no_process_behind(async |client: &mut TestClient| {
        client.notify("exit", Value::Null).await
    })
    .await;
}

#[tokio::test]
async fn stdin_closing_leaves_no_process_behind() {
    leaves_no_process_behind(async |client: &mut TestClient| client.close_input().await).await;
}

#[tokio::test]
async fn ask_prints_the_streamed_answer_and_fails_with_a_code() {
    let mock = MockModel::start(vec![Scenario::text(["Hello ", "from ", "codex."])]).await;
    let home = tempfile::tempdir().unwrap();
    mock.write_codex_home(home.path());
    let file = home.path().join("main.rs");
    std::fs::write(&file, "fn main() {}\n").unwrap();
    let ask = |codex: String| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_codex-ls"));
        command
            .args(["ask", "--file"])
            .arg(&file)
            .args(["--range", "1:1", "--codex-path", &codex, "Explain this"])
            .env("CODEX_HOME", home.path())
            .current_dir(home.path());
        command
    };
    let output = tokio::time::timeout(WAIT, ask(codex_binary().display().to_string()).output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "Hello from codex.\n"
    );
    let body = &mock.requests()[0];
    assert!(
        mentions(body).iter().any(|p| p == Path::new("main.rs")),
        "{:?}",
        mentions(body)
    );

    let missing = tokio::time::timeout(WAIT, ask("/nonexistent/codex".into()).output())
        .await
        .unwrap()
        .unwrap();
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("backend-unavailable"), "{stderr}");
}

#[tokio::test]
async fn a_run_that_outlives_its_timeout_is_interrupted_with_a_timeout_diagnostic() {
    let mut h = Harness::start(
        vec![Scenario::Hang {
            chunks_before: vec!["Slow".into()],
        }],
        None,
    )
    .await;
    // `timeoutSecs` counts from the command, start-up of the app-server
    // included (0.6 to 1.7 s on a 2-core machine): 3 s leaves the turn time
    // to start, so the timeout interrupts a turn that hangs.
    h.client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"codex": {"timeoutSecs": 3}}}),
        )
        .await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    let started = Instant::now();
    h.explain(&uri, "slow").await;
    let (_, end) = h.progress_until_end(&json!("slow")).await;
    assert_eq!(end["codex"]["status"], "timeout");
    assert_eq!(end["codex"]["error"]["code"], "timeout");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    assert!(
        h.mock.requests().len() == 1,
        "the model was asked: the turn had started when the timeout came"
    );
    let diagnostics = h
        .client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    assert_eq!(diagnostics["diagnostics"][0]["code"], "timeout");
    assert_eq!(
        diagnostics["diagnostics"][0]["range"]["end"],
        json!({"line": 0, "character": 1})
    );
    // The interrupted turn leaves the thread usable.
    h.mock.set_scenarios(vec![Scenario::text(["Done."])]);
    h.client
        .notify(
            "workspace/didChangeConfiguration",
            json!({"settings": {"codex": {"timeoutSecs": 60}}}),
        )
        .await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Again", "progressToken": "again"}))
        .await;
    let (_, end) = h.progress_until_end(&json!("again")).await;
    assert_eq!(end["codex"]["assistantText"], "Done.");
    h.client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn a_codex_path_that_is_not_executable_is_backend_unavailable() {
    let scratch = tempfile::tempdir().unwrap();
    let fake = scratch.path().join("codex");
    std::fs::write(&fake, "not a program").unwrap();
    let mut h = Harness::start(
        vec![Scenario::text(["unused"])],
        Some(fake.to_str().unwrap()),
    )
    .await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    h.explain(&uri, "noexec").await;
    let (_, end) = h.progress_until_end(&json!("noexec")).await;
    assert_eq!(
        end["codex"]["error"]["code"],
        "backend-unavailable",
        "{}",
        h.log()
    );
    let message = end["codex"]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("could not start"),
        "{message}\n{}",
        h.log()
    );
    h.client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn a_stopped_app_server_still_cancels_within_a_second_and_leaves_nothing_behind() {
    let (mut h, _) = Harness::hung_run("frozen").await;
    let tree = descendants(h.child.id().unwrap());
    for pid in &tree {
        // SAFETY: kill takes plain integers.
        unsafe { libc::kill(*pid as i32, libc::SIGSTOP) };
    }
    let cancelled_at = Instant::now();
    h.client
        .notify("window/workDoneProgress/cancel", json!({"token": "frozen"}))
        .await;
    let (_, end) = h.progress_until_end(&json!("frozen")).await;
    assert_eq!(end["codex"]["status"], "interrupted");
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(1),
        "cancel took {:?}",
        cancelled_at.elapsed()
    );
    h.client.take_notifications("$/progress");
    let asked = Instant::now();
    h.client.shutdown_and_exit().await;
    let left = wait_all_gone(&tree, Duration::from_secs(2)).await;
    assert!(left.is_empty(), "stopped processes left behind: {left:?}");
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        asked.elapsed()
    );
}

/// A client that applies versioned edits and shows message requests.
fn editor_caps() -> Value {
    json!({
        "window": {"workDoneProgress": true, "showMessage": {}},
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}}
    })
}

#[tokio::test]
async fn a_rewrite_gets_structured_output_from_the_model_and_applies_it() {
    let answer = json!({"replacement": "fn two() -> u32 {\n    2\n}", "explanation": "renamed"});
    let mut h = Harness::start_with(
        vec![Scenario::text([answer.to_string()])],
        editor_caps(),
        json!({}),
    )
    .await;
    let text = "// keep\nfn one() -> u32 {\n    1\n}\n";
    let uri = h.open("lib.rs", text, Some(text)).await;
    h.command(
        "codex.rewrite",
        json!({"textDocument": {"uri": uri}, "range": selection(1, 4), "progressToken": "rw"}),
    )
    .await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let edit = &params["edit"]["documentChanges"][0]["edits"][0];
    assert_eq!(edit["range"], selection(1, 4));
    // A line-wise selection gets a replacement ending in one line break.
    assert_eq!(edit["newText"], "fn two() -> u32 {\n    2\n}\n");
    h.client.respond(id, json!({"applied": true})).await;
    let (_, end) = h.progress_until_end(&json!("rw")).await;
    assert_eq!(end["codex"]["edit"]["status"], "applied", "{end}");
    // The model was asked for the schema as structured output.
    let body = &h.mock.requests()[0];
    let format = &body["text"]["format"];
    assert_eq!(format["type"], "json_schema", "{body}");
    assert_eq!(
        format["schema"]["required"],
        json!(["replacement", "explanation"])
    );
    h.client.shutdown_and_exit().await;
}

/// Preview rewrites against the real app-server (issue 14, 2): each ends
/// with a proposal and nothing applied; the first is partly applied (one
/// hunk, one edit), the second is refused once its selected text changed,
/// then discarded, and cannot be applied after that.
#[tokio::test]
async fn preview_rewrites_are_proposed_then_partly_applied_refused_and_discarded() {
    let answer =
        json!({"replacement": "fn one() -> u64 {\n    1\n} // one\n", "explanation": "wider"});
    let mut h = Harness::start_with(
        vec![
            Scenario::text([answer.to_string()]),
            Scenario::text([answer.to_string()]),
        ],
        editor_caps(),
        json!({}),
    )
    .await;
    let text = "// keep\nfn one() -> u32 {\n    1\n}\n";
    let uri = h.open("lib.rs", text, Some(text)).await;
    let rewrite = json!({"textDocument": {"uri": uri}, "range": selection(1, 4),
                         "preview": true, "progressToken": "p1"});
    h.command("codex.rewrite", rewrite).await;
    let (_, end) = h.progress_until_end(&json!("p1")).await;
    let edit = &end["codex"]["edit"];
    assert_eq!(edit["status"], "proposed", "{end}");
    assert_eq!(edit["version"], 1);
    assert_eq!(edit["range"], selection(1, 4));
    assert_eq!(
        edit["hunks"],
        json!([
            {"index": 0, "range": selection(1, 2),
             "oldText": "fn one() -> u32 {\n", "newText": "fn one() -> u64 {\n"},
            {"index": 1, "range": selection(3, 4), "oldText": "}\n", "newText": "} // one\n"},
        ])
    );
    let first = end["codex"]["runId"].clone();

    // Only the first hunk, as one versioned edit. The command answers
    // after the editor did, so it is sent without waiting for its answer.
    let body = json!({"jsonrpc": "2.0", "id": 7001, "method": "workspace/executeCommand",
                      "params": {"command": "codex.applyProposal",
                                 "arguments": [{"runId": first, "hunks": [0]}]}})
    .to_string();
    h.client
        .send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes())
        .await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let change = &params["edit"]["documentChanges"][0];
    assert_eq!(change["textDocument"]["version"], 1);
    assert_eq!(change["edits"].as_array().unwrap().len(), 1);
    assert_eq!(change["edits"][0]["range"], selection(1, 4));
    assert_eq!(
        change["edits"][0]["newText"],
        "fn one() -> u64 {\n    1\n}\n"
    );
    h.client.respond(id, json!({"applied": true})).await;
    let applied = h.client.expect_response(&json!(7001), WAIT).await.unwrap();
    assert_eq!(applied["applied"], true, "{applied}");
    assert_eq!(applied["hunks"], json!([0]));

    // The second proposal; then the user types inside its selection.
    let rewrite = json!({"textDocument": {"uri": uri}, "range": selection(1, 4),
                         "preview": true, "progressToken": "p2"});
    h.command("codex.rewrite", rewrite).await;
    let (_, end) = h.progress_until_end(&json!("p2")).await;
    assert_eq!(end["codex"]["edit"]["status"], "proposed", "{end}");
    let second = end["codex"]["runId"].clone();
    h.client
        .notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2},
                   "contentChanges": [{"range": {"start": {"line": 2, "character": 4},
                                                 "end": {"line": 2, "character": 5}},
                                       "text": "42"}]}),
        )
        .await;
    let apply = json!({"command": "codex.applyProposal", "arguments": [{"runId": second}]});
    let err = h
        .client
        .request("workspace/executeCommand", apply.clone())
        .await
        .unwrap_err();
    assert_eq!(err["code"], -32803, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("selected text changed"),
        "{err}"
    );
    let discarded = h
        .command("codex.discardProposal", json!({"runId": second}))
        .await;
    assert_eq!(discarded, json!({"discarded": true}));
    let err = h
        .client
        .request("workspace/executeCommand", apply)
        .await
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("discarded"),
        "{err}"
    );
    // Two turns, no more: nothing asked the model again.
    assert_eq!(h.mock.requests().len(), 2);
    h.client.shutdown_and_exit().await;
}

/// With `sandbox: "workspace-write"` configured, a rewrite's agent that
/// tries to write the file itself is refused (its turn is read-only), the
/// file stays as it was and the rewrite's own edit applies. An answer run
/// after it on the same thread gets the configured sandbox back.
#[tokio::test]
async fn a_rewrite_runs_read_only_even_in_a_workspace_write_sandbox() {
    let answer = json!({"replacement": "fn two() -> u32 {\n    2\n}", "explanation": "renamed"});
    let scenarios = vec![
        Scenario::SandboxedCommand {
            call_id: "call_write_1".into(),
            cmd: "printf 'written by the agent' > lib.rs".into(),
        },
        Scenario::text([answer.to_string()]),
        Scenario::SandboxedCommand {
            call_id: "call_write_2".into(),
            cmd: "printf 'answer run' > notes.txt".into(),
        },
        Scenario::text(["Wrote notes.txt."]),
    ];
    let mut h = Harness::start_with(
        scenarios,
        editor_caps(),
        json!({"sandbox": "workspace-write"}),
    )
    .await;
    let text = "// keep\nfn one() -> u32 {\n    1\n}\n";
    let uri = h.open("lib.rs", text, Some(text)).await;
    h.command(
        "codex.rewrite",
        json!({"textDocument": {"uri": uri}, "range": selection(1, 4), "progressToken": "rw"}),
    )
    .await;
    let (id, params) = h.client.expect_request("workspace/applyEdit", WAIT).await;
    let edit = &params["edit"]["documentChanges"][0]["edits"][0];
    // A line-wise selection gets a replacement ending in one line break.
    assert_eq!(edit["newText"], "fn two() -> u32 {\n    2\n}\n");
    h.client.respond(id, json!({"applied": true})).await;
    let (_, end) = h.progress_until_end(&json!("rw")).await;
    assert_eq!(end["codex"]["edit"]["status"], "applied", "{end}");
    let on_disk = std::fs::read_to_string(h.workspace.path().join("lib.rs")).unwrap();
    assert_eq!(on_disk, text, "the agent's write went through");
    let refused = h
        .mock
        .requests()
        .iter()
        .flat_map(call_outputs)
        .next()
        .expect("codex sent the command's output back");
    assert!(
        refused.to_lowercase().contains("read-only")
            || refused.to_lowercase().contains("permission denied"),
        "the write was not refused by the sandbox: {refused}"
    );

    // An answer run on the same thread writes where the configuration lets
    // it: the read-only turn did not stick to the conversation.
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Write notes", "progressToken": "an"}))
        .await;
    let (_, end) = h.progress_until_end(&json!("an")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    let notes = std::fs::read_to_string(h.workspace.path().join("notes.txt"));
    assert_eq!(notes.ok().as_deref(), Some("answer run"), "{}", h.log());
    h.client.shutdown_and_exit().await;
}

#[tokio::test]
async fn a_review_from_the_model_becomes_diagnostics() {
    let findings = json!({"findings": [
        {"startLine": 2, "endLine": 2, "severity": "warning", "message": "unwrap may panic", "suggestion": "    x.unwrap_or(0)"}
    ]});
    let mut h = Harness::start_with(
        vec![Scenario::text([findings.to_string()])],
        editor_caps(),
        json!({}),
    )
    .await;
    let text = "fn f(x: Option<u32>) -> u32 {\n    x.unwrap()\n}\n";
    let uri = h.open("f.rs", text, Some(text)).await;
    h.command(
        "codex.review",
        json!({"textDocument": {"uri": uri}, "progressToken": "rv"}),
    )
    .await;
    let (_, end) = h.progress_until_end(&json!("rv")).await;
    assert_eq!(end["codex"]["findings"], 1, "{end}");
    let published = h
        .client
        .expect_notification_where(
            "textDocument/publishDiagnostics",
            |p| !p["diagnostics"].as_array().is_none_or(Vec::is_empty),
            WAIT,
        )
        .await;
    let finding = &published["diagnostics"][0];
    assert_eq!(finding["source"], "codex-review");
    assert_eq!(finding["message"], "unwrap may panic");
    assert_eq!(finding["range"]["start"]["line"], 1);
    h.client.shutdown_and_exit().await;
}

/// Runs a turn where the model asks to run a command outside the sandbox,
/// answers the approval with `title`, and returns the output the model got
/// back and whether the command's file exists.
async fn command_approval(title: &str) -> (String, bool) {
    let scenarios = vec![
        Scenario::ExecCommand {
            call_id: "call_approve_1".into(),
            cmd: "echo hi > created-by-codex.txt".into(),
            justification: "The test wants a file".into(),
        },
        Scenario::text(["Done."]),
    ];
    let mut h = Harness::start_with(
        scenarios,
        editor_caps(),
        json!({"approvalPolicy": "on-request"}),
    )
    .await;
    let uri = h.open("a.rs", "fn a() {}\n", Some("fn a() {}\n")).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Make the file", "progressToken": "ap"}))
        .await;
    let (id, params) = h
        .client
        .expect_request("window/showMessageRequest", WAIT)
        .await;
    let message = params["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("Codex wants to run a command:"),
        "{message}"
    );
    assert!(message.contains("created-by-codex.txt"), "{message}");
    assert!(
        message.contains("Reason: The test wants a file"),
        "{message}"
    );
    h.client.respond(id, json!({"title": title})).await;
    let (_, end) = h.progress_until_end(&json!("ap")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(end["codex"]["assistantText"], "Done.");
    let output = h
        .mock
        .requests()
        .iter()
        .flat_map(call_outputs)
        .next()
        .expect("codex sent the command's output back");
    let created = h.workspace.path().join("created-by-codex.txt").exists();
    h.client.shutdown_and_exit().await;
    (output, created)
}

#[tokio::test]
async fn a_command_approval_accepted_in_the_editor_runs_the_command() {
    let (output, created) = command_approval("Accept").await;
    assert!(created, "the accepted command ran: {output}");
}

#[tokio::test]
async fn a_command_approval_declined_in_the_editor_does_not_run_it() {
    let (output, created) = command_approval("Decline").await;
    assert!(!created, "the declined command must not run");
    assert!(says_declined(&output), "{output}");
}

/// The native codex process of the app-server that `status` names. The npm
/// launcher is a node script that runs the native binary.
fn native_codex(status: &Value) -> i32 {
    let launched = status["backend"]["pid"].as_u64().unwrap() as u32;
    std::iter::once(launched)
        .chain(descendants(launched))
        .find(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe.ends_with("codex"))
        })
        .expect("the native codex process") as i32
}

#[tokio::test]
async fn after_codex_restarts_the_conversation_is_resumed() {
    let mut h = Harness::start(vec![Scenario::text(["Noted."])], None).await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Remember the word PELICAN", "progressToken": "first"}))
        .await;
    let (_, end) = h.progress_until_end(&json!("first")).await;
    assert_eq!(end["codex"]["status"], "completed");
    let pid = native_codex(&h.status().await);
    // SAFETY: kill takes plain integers.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // Wait for codex-ls to see the app-server gone.
    let deadline = Instant::now() + WAIT;
    loop {
        let status = h.status().await;
        if status["backend"]["state"] == "exited" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the backend never exited: {status}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    h.mock.set_scenarios(vec![Scenario::text(["PELICAN"])]);
    h.run(
        json!({"textDocument": {"uri": uri}, "prompt": "Which word?", "progressToken": "second"}),
    )
    .await;
    let begin = h
        .client
        .expect_notification_where(
            "$/progress",
            |p| p["token"] == "second" && p["value"]["kind"] == "begin",
            WAIT,
        )
        .await;
    let (_, end) = h.progress_until_end(&json!("second")).await;
    assert_eq!(end["codex"]["status"], "completed", "log:\n{}", h.log());
    // The second request carries the first turn: the thread was resumed.
    let requests = h.mock.requests();
    let last = requests.last().unwrap();
    let texts = input_texts(last).join("\n");
    assert!(
        texts.contains("Remember the word PELICAN"),
        "history lost:\n{texts}"
    );
    assert!(
        begin["value"]["message"]
            .as_str()
            .unwrap()
            .contains("resuming the conversation"),
        "{begin}"
    );
    let lost = h.client.take_notifications("window/showMessage");
    assert!(lost.is_empty(), "{lost:?}");
    h.client.shutdown_and_exit().await;
}
