//! First-delta latency: how much time codex-ls adds between the app-server's
//! first streamed delta and the editor's first `$/progress` report, measured
//! against the real `codex app-server` (installed by scripts/test.sh) and the
//! mock model server, in the same process. Also prints the time to cancel
//! and codex-ls's peak RSS. Run: `cargo bench --bench first_delta`.
// Benchmark code: a failed unwrap, expect or panic stops the benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/lsp_client.rs"]
mod lsp_client;
#[path = "../tests/support/mock_model.rs"]
mod mock_model;
#[path = "../tests/support/tools.rs"]
mod tools;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use lsp_client::TestClient;
use mock_model::{MockModel, Scenario};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tools::codex_binary;

const ROUNDS: usize = 15;
const WAIT: Duration = Duration::from_secs(30);

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn scenario() -> Scenario {
    Scenario::text(["first", " second"])
}

/// Time from `turn/start` to the first `item/agentMessage/delta`, talking to
/// the app-server directly (a turn per round on one thread).
async fn direct(home: &Path, cwd: &Path) -> Vec<Duration> {
    let mut child = Command::new(codex_binary())
        .arg("app-server")
        .env("CODEX_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn codex");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_id = 0;
    let mut send =
        async |stdin: &mut tokio::process::ChildStdin, method: &str, params: Value| -> i64 {
            next_id += 1;
            let line = json!({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params});
            stdin
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
            next_id
        };
    async fn until(
        lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        loop {
            let line = tokio::time::timeout(WAIT, lines.next_line())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            let value: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if pred(&value) {
                return value;
            }
        }
    }
    let id = send(
        &mut stdin,
        "initialize",
        json!({"clientInfo": {"name": "bench", "version": "0"}}),
    )
    .await;
    until(&mut lines, |v| v["id"] == id).await;
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"initialized\"}\n")
        .await
        .unwrap();
    let id = send(
        &mut stdin,
        "thread/start",
        json!({"cwd": cwd, "sandbox": "read-only", "approvalPolicy": "never"}),
    )
    .await;
    let thread = until(&mut lines, |v| v["id"] == id).await["result"]["thread"]["id"].clone();
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let input = json!([{"type": "text", "text": "hello", "text_elements": []}]);
        send(
            &mut stdin,
            "turn/start",
            json!({"threadId": thread, "input": input}),
        )
        .await;
        until(&mut lines, |v| v["method"] == "item/agentMessage/delta").await;
        samples.push(started.elapsed());
        until(&mut lines, |v| v["method"] == "turn/completed").await;
    }
    samples
}

/// Time from `codex.run` to the first progress report, through codex-ls
/// (runs on one document continue one thread, like the direct rounds).
async fn through_codex_ls(home: &Path, cwd: &Path) -> (Vec<Duration>, Duration, u64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_codex-ls"))
        .env("CODEX_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn codex-ls");
    let pid = child.id().unwrap();
    let mut client = TestClient::new(child.stdout.take().unwrap(), child.stdin.take().unwrap());
    client
        .initialize(json!({
            "capabilities": {},
            "workspaceFolders": [{"uri": format!("file://{}", cwd.display()), "name": "ws"}],
            "initializationOptions": {"codexPath": codex_binary()},
        }))
        .await;
    let file = cwd.join("a.rs");
    std::fs::write(&file, "fn a() {}\n").unwrap();
    let uri = format!("file://{}", file.display());
    client
        .notify("textDocument/didOpen", json!({"textDocument": {"uri": uri, "languageId": "rust", "version": 1, "text": "fn a() {}\n"}}))
        .await;
    let run = async |client: &mut TestClient, token: &str| {
        let args = json!({"textDocument": {"uri": uri}, "prompt": "hello", "progressToken": token});
        client
            .request(
                "workspace/executeCommand",
                json!({"command": "codex.run", "arguments": [args]}),
            )
            .await
            .unwrap();
    };
    // The first run starts the app-server and the thread; not measured.
    run(&mut client, "warm").await;
    client
        .expect_notification_where("$/progress", |p| p["value"]["kind"] == "end", WAIT)
        .await;
    let mut samples = Vec::new();
    for round in 0..ROUNDS {
        let token = format!("r{round}");
        let started = Instant::now();
        run(&mut client, &token).await;
        client
            .expect_notification_where("$/progress", |p| p["value"]["kind"] == "report", WAIT)
            .await;
        samples.push(started.elapsed());
        client
            .expect_notification_where("$/progress", |p| p["value"]["kind"] == "end", WAIT)
            .await;
        client.take_notifications("$/progress");
    }
    let cancel_time = {
        run(&mut client, "cancel").await;
        client
            .expect_notification_where("$/progress", |p| p["value"]["kind"] == "report", WAIT)
            .await;
        let started = Instant::now();
        client
            .notify("window/workDoneProgress/cancel", json!({"token": "cancel"}))
            .await;
        client
            .expect_notification_where("$/progress", |p| p["value"]["kind"] == "end", WAIT)
            .await;
        started.elapsed()
    };
    client.take_notifications("$/progress");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak_kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0);
    client.shutdown_and_exit().await;
    (samples, cancel_time, peak_kb)
}

#[tokio::main]
async fn main() {
    let mock = MockModel::start(vec![scenario()]).await;
    let home = tempfile::tempdir().unwrap();
    mock.write_codex_home(home.path());
    let cwd = tempfile::tempdir().unwrap();
    let direct = median(direct(home.path(), cwd.path()).await);
    // The cancel round hangs the model until the interrupt.
    let mock_cancel_scenarios = {
        let mut scenarios = vec![scenario(); ROUNDS + 1];
        scenarios.push(Scenario::Hang {
            chunks_before: vec!["wait".into()],
        });
        scenarios
    };
    mock.set_scenarios(mock_cancel_scenarios);
    let (samples, cancel_time, peak_kb) = through_codex_ls(home.path(), cwd.path()).await;
    let via = median(samples);
    println!(
        "first delta (median of {ROUNDS}): app-server direct {:.1} ms, through codex-ls {:.1} ms, added {:.1} ms (ratio {:.2})",
        direct.as_secs_f64() * 1e3,
        via.as_secs_f64() * 1e3,
        (via.as_secs_f64() - direct.as_secs_f64()) * 1e3,
        via.as_secs_f64() / direct.as_secs_f64()
    );
    println!("time to cancel: {:.1} ms", cancel_time.as_secs_f64() * 1e3);
    println!("codex-ls peak RSS: {:.1} MiB", peak_kb as f64 / 1024.0);
}
