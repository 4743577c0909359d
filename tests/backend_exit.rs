//! The real `codex-ls` binary against small fake app-servers (Python
//! scripts given as `codexPath`): an app-server that dies while a helper it
//! started still holds its output open is noticed at once, and `codex-ls
//! ask` stops on Ctrl-C in a phase where Codex does not answer.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::binary::Binary;
use support::editor::{open_document, progress_until_end};

const WAIT: Duration = Duration::from_secs(20);

/// A fake `codex app-server` in Python. It answers the handshake and
/// starts and resumes threads like codex 0.169. Its first turn streams a delta, starts a
/// helper (`sleep`) in a session of its own that inherits its stdout, and
/// exits with status 3, as a crash that leaves a tool running would; later
/// launches (a marker in `CODEX_HOME`) answer "Hello". With `HANG_TURN` in
/// `CODEX_HOME`, `turn/start` is never answered.
const FAKE_CODEX: &str = r#"#!/usr/bin/env python3
import json, os, subprocess, sys
home = os.environ["CODEX_HOME"]
marker = os.path.join(home, "launched-before")
first = not os.path.exists(marker)
open(marker, "a").close()
hang = os.path.exists(os.path.join(home, "HANG_TURN"))
def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()
for line in sys.stdin:
    request = json.loads(line)
    method, rid = request.get("method"), request.get("id")
    if method == "initialize":
        send({"id": rid, "result": {"userAgent": "fake/0.169.0 (test)"}})
    elif method in ("thread/start", "thread/resume"):
        send({"id": rid, "result": {"thread": {"id": "th1"}}})
    elif method == "turn/start" and hang:
        continue
    elif method == "turn/start":
        th = request["params"]["threadId"]
        send({"id": rid, "result": {"turn": {"id": "tu1", "status": "inProgress"}}})
        send({"method": "item/agentMessage/delta",
              "params": {"threadId": th, "turnId": "tu1", "itemId": "m", "delta": "Hel"}})
        if first:
            helper = subprocess.Popen(["sleep", "300"], stdout=sys.stdout,
                                      start_new_session=True)
            with open(os.path.join(home, "helper.pid"), "w") as f:
                f.write(str(helper.pid))
            os._exit(3)
        send({"method": "turn/completed", "params": {"threadId": th, "turn": {
            "id": "tu1", "status": "completed", "error": None,
            "items": [{"type": "agentMessage", "id": "m", "text": "Hello"}]}}})
    elif method == "turn/interrupt":
        th, tu = request["params"]["threadId"], request["params"]["turnId"]
        send({"id": rid, "result": {}})
        send({"method": "turn/completed", "params": {"threadId": th, "turn": {
            "id": tu, "status": "interrupted", "error": None, "items": []}}})
"#;

/// Writes the fake into `home` (executable) and returns its path.
fn fake_codex(home: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = home.join("fake-codex");
    std::fs::write(&path, FAKE_CODEX).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
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
    let codex = fake_codex(scripts.path());
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
    // The fake's CODEX_HOME is the server's home.
    let helper: i32 = std::fs::read_to_string(server.home.path().join("helper.pid"))
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
    let codex = fake_codex(home.path());
    std::fs::write(home.path().join("HANG_TURN"), "").unwrap();
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
