//! The real `codex-ls` binary against the crate's fake app-server (a
//! process, given as `codexPath`): an app-server that dies while a helper it
//! started still holds its output open is noticed at once, and `codex-ls
//! ask` stops on Ctrl-C in a phase where Codex does not answer.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use codex_ls::fuzzing::fake_app_server::{Launch, Rule, Script, Step};
use serde_json::{Value, json};
use support::binary::Binary;
use support::editor::{open_document, progress_until_end};

const WAIT: Duration = Duration::from_secs(20);

/// The crate's fake app-server, answering like codex 0.169. Its first
/// launch's turn streams a delta, starts a helper (`sleep`, its pid to
/// `dir/helper.pid`) in a session of its own that inherits its stdout, and
/// exits with status 3, as a crash that leaves a tool running would; later
/// launches answer "Hello". With `hang_turn`, `turn/start` is never
/// answered.
fn fake_codex(dir: &Path, hang_turn: bool) -> PathBuf {
    let script = if hang_turn {
        Script::answering("Hello").on("turn/start", Vec::new())
    } else {
        Script::answering("Hello").rule(Rule {
            method: "turn/start".into(),
            launch: Launch::First,
            steps: vec![
                Step::Answer,
                Step::Delta { text: "Hel".into() },
                Step::SpawnHelper {
                    pid_file: dir.join("helper.pid"),
                },
                Step::Exit { code: 3 },
            ],
        })
    };
    support::binary::fake_codex(dir, &script)
}

fn alive(pid: i32) -> bool {
    // A zombie has exited: only a running process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let close = stat.rfind(')')?;
            stat[close + 1..]
                .split_whitespace()
                .next()
                .map(str::to_string)
        })
        .is_some_and(|state| state != "Z")
}

#[tokio::test]
async fn an_app_server_that_dies_is_noticed_at_once_even_when_a_helper_holds_its_output() {
    let scripts = tempfile::tempdir().unwrap();
    let codex = fake_codex(scripts.path(), false);
    let options = json!({"codexPath": codex.display().to_string(), "timeoutSecs": 60});
    let mut server = Binary::start("debug", options).await;
    let uri = open_document(
        &mut server.client,
        server.workspace.path(),
        "a.rs",
        "x\n",
        Some("x\n"),
    )
    .await;
    let run =
        |token: &str| json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": token});
    server.command("codex.run", run("dies")).await;
    let client = &mut server.client;
    // The delta arrives just before the app-server exits.
    client
        .expect_notification_where("$/progress", |p| p["value"]["kind"] == "report", WAIT)
        .await;
    let reported = Instant::now();
    let (_, end) = progress_until_end(client, &json!("dies")).await;
    let took = reported.elapsed();
    assert_eq!(
        end["codex"]["error"]["code"], "backend-unavailable",
        "{end}"
    );
    assert!(
        took < Duration::from_secs(1),
        "the crash was seen after {took:?}"
    );
    client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    let helper: i32 = std::fs::read_to_string(scripts.path().join("helper.pid"))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        alive(helper),
        "the helper still holds the app-server's stdout"
    );

    let status = server.command("codex.status", json!({})).await;
    assert_eq!(status["backend"]["state"], "exited", "{status}");
    assert_eq!(status["backend"]["pid"], Value::Null, "{status}");
    assert!(
        status["backend"]["lastError"]
            .as_str()
            .is_some_and(|error| error.contains("exit status: 3")),
        "{status}"
    );

    // The next run starts a fresh app-server, and the dead one's helper is
    // taken down before it does.
    server.command("codex.run", run("fresh")).await;
    let client = &mut server.client;
    let (_, end) = progress_until_end(client, &json!("fresh")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert!(!alive(helper), "the dead app-server's helper outlived it");
    let cleared = client
        .expect_notification("textDocument/publishDiagnostics", WAIT)
        .await;
    assert_eq!(cleared["diagnostics"], json!([]));
    client.shutdown_and_exit().await;
    let exited = tokio::time::timeout(WAIT, server.child.wait()).await;
    assert!(exited.is_ok_and(|status| status.is_ok_and(|s| s.success())));
}

#[tokio::test]
async fn ask_stops_on_the_first_ctrl_c_within_a_second_while_codex_does_not_answer() {
    let home = tempfile::tempdir().unwrap();
    let codex = fake_codex(home.path(), true);
    let file = home.path().join("a.rs");
    std::fs::write(&file, "fn main() {}\n").unwrap();
    let mut ask = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-ls"))
        .args(["ask", "--file"])
        .arg(&file)
        .arg("--codex-path")
        .arg(&codex)
        .arg("Explain")
        .env("CODEX_HOME", home.path())
        .env_remove("CODEX_LS_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // `ask` logs the version it found once the app-server answered; then
    // it sends turn/start, which this app-server never answers.
    let stderr = ask.stderr.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stderr));
    let found = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("using Codex CLI 0.169.0") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "ask did not log the Codex version");
    let interrupted = Instant::now();
    // SAFETY: kill takes plain integers.
    unsafe { libc::kill(ask.id().unwrap() as i32, libc::SIGINT) };
    let status = tokio::time::timeout(WAIT, ask.wait())
        .await
        .unwrap()
        .unwrap();
    let took = interrupted.elapsed();
    assert!(took < Duration::from_secs(1), "ask took {took:?} to stop");
    assert_eq!(status.code(), Some(130), "{status:?}");
}
