//! Every way a session ends leaves nothing behind: the real `codex-ls`
//! binary, a run in flight against the real `codex app-server` (and the mock
//! model, which hangs) on a buffer with unsaved text, then the session ends
//! by a real signal, `exit`, stdin's end, or the editor closing our stdout or
//! stderr. codex-ls must exit cleanly (status 0, no panic), with no process
//! of its tree left and no snapshot directory in its temp dir.
//!
//! Also: orphans are reaped as they exit (the crate's fake app-server,
//! detaching a helper), not only at the end.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use codex_ls::fuzzing::fake_app_server::{Script, Step};
use serde_json::{Value, json};
use support::editor::{initialize_params, open_document, spawn_binary};
use support::lsp_client::TestClient;
use support::mock_model::{MockModel, Scenario};
use support::processes::{descendants, state, wait_all_gone, wait_until};
use support::tools::codex_binary;
use tokio::process::{Child, ChildStdin, ChildStdout};

const WAIT: Duration = Duration::from_secs(30);
/// How long codex-ls may take from the end of the session to its exit, its
/// process tree gone.
const EXIT_WITHIN: Duration = Duration::from_secs(3);

/// A codex-ls over pipes, with a home (and a temp dir, `home/tmp`) of its
/// own.
struct Session {
    client: TestClient,
    child: Child,
    _mock: MockModel,
    home: tempfile::TempDir,
    workspace: tempfile::TempDir,
}

impl Session {
    /// Starts codex-ls (its stderr to `stderr`) on the real codex, with a
    /// model that streams a little, then hangs.
    async fn start(stderr: Stdio) -> Session {
        let mock = MockModel::start(vec![Scenario::Hang {
            chunks_before: vec!["Thinking".into()],
        }])
        .await;
        let home = tempfile::tempdir().unwrap();
        mock.write_codex_home(home.path());
        let (child, client) = spawn_binary(home.path(), Some("debug"), stderr);
        Session::initialize(
            child,
            client,
            mock,
            home,
            codex_binary().display().to_string(),
        )
        .await
    }

    async fn initialize(
        child: Child,
        mut client: TestClient,
        mock: MockModel,
        home: tempfile::TempDir,
        codex_path: String,
    ) -> Session {
        let workspace = tempfile::tempdir().unwrap();
        client
            .initialize(initialize_params(
                workspace.path(),
                json!({"window": {"workDoneProgress": true}}),
                json!({"codexPath": codex_path}),
            ))
            .await;
        Session {
            client,
            child,
            _mock: mock,
            home,
            workspace,
        }
    }

    /// Starts a run on a buffer with unsaved text and returns once its first
    /// words arrived, its snapshot directory on disk.
    async fn dirty_hung_run(&mut self) {
        let uri = open_document(
            &mut self.client,
            self.workspace.path(),
            "src/lib.rs",
            "fn unsaved() {}\n",
            Some("fn saved() {}\n"),
        )
        .await;
        self.client
            .request(
                "workspace/executeCommand",
                json!({"command": "codex.run", "arguments": [
                    {"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": "busy"}
                ]}),
            )
            .await
            .expect("codex.run");
        self.client
            .expect_notification_where("$/progress", |p| p["value"]["kind"] == "report", WAIT)
            .await;
        assert!(
            !self.snapshot_dirs().is_empty(),
            "the unsaved buffer has no snapshot"
        );
    }

    /// The snapshot directories in codex-ls's temp dir.
    fn snapshot_dirs(&self) -> Vec<PathBuf> {
        snapshot_dirs(&self.home.path().join("tmp"))
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("codex-ls is running")
    }

    /// Ends the session with `end` and checks that codex-ls exits with
    /// status 0, its process tree and its snapshots gone.
    async fn ends_cleanly(mut self, end: impl AsyncFnOnce(&mut Session)) {
        let tree = descendants(self.pid());
        assert!(!tree.is_empty(), "codex app-server should be running");
        let ended_at = Instant::now();
        end(&mut self).await;
        let status = tokio::time::timeout(EXIT_WITHIN, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("codex-ls did not exit within {EXIT_WITHIN:?}"))
            .unwrap();
        let left = wait_all_gone(&tree, EXIT_WITHIN.saturating_sub(ended_at.elapsed())).await;
        assert!(left.is_empty(), "processes left behind: {left:?}");
        assert_eq!(status.code(), Some(0), "codex-ls exited with {status}");
        let snapshots = self.snapshot_dirs();
        assert!(snapshots.is_empty(), "snapshots left behind: {snapshots:?}");
        println!(
            "codex-ls and {} processes gone after {:?}",
            tree.len(),
            ended_at.elapsed()
        );
        self.client.take_notifications("$/progress");
        self.client.allow_unclaimed("$/progress");
    }
}

fn snapshot_dirs(temp_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(temp_dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    path.file_name()
                        .is_some_and(|name| name.to_string_lossy().starts_with("codex-ls-run-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The binary as `spawn_binary` starts it (same environment), with its
/// stdin and stdout handed to the caller instead of to a client.
fn spawn_binary_raw(home: &Path) -> (Child, ChildStdin, ChildStdout) {
    std::fs::create_dir_all(home.join("tmp")).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-ls"))
        .env("CODEX_HOME", home)
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("TMPDIR", home.join("tmp"))
        .env("CODEX_LS_LOG", "debug")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    (child, stdin, stdout)
}

fn send_signal(session: &Session, signal: i32) {
    // SAFETY: kill takes plain integers.
    assert_eq!(unsafe { libc::kill(session.pid() as i32, signal) }, 0);
}

async fn a_signal_ends_the_session_cleanly(signal: i32) {
    let mut session = Session::start(Stdio::null()).await;
    session.dirty_hung_run().await;
    session
        .ends_cleanly(async |session: &mut Session| send_signal(session, signal))
        .await;
}

#[tokio::test]
async fn sighup_ends_the_session_cleanly() {
    a_signal_ends_the_session_cleanly(libc::SIGHUP).await;
}

#[tokio::test]
async fn sigint_ends_the_session_cleanly() {
    a_signal_ends_the_session_cleanly(libc::SIGINT).await;
}

#[tokio::test]
async fn sigterm_ends_the_session_cleanly() {
    a_signal_ends_the_session_cleanly(libc::SIGTERM).await;
}

#[tokio::test]
async fn exit_without_shutdown_ends_the_session_cleanly() {
    let mut session = Session::start(Stdio::null()).await;
    session.dirty_hung_run().await;
    session
        .ends_cleanly(async |session: &mut Session| {
            session.client.notify("exit", Value::Null).await
        })
        .await;
}

#[tokio::test]
async fn shutdown_and_exit_end_the_session_cleanly() {
    let mut session = Session::start(Stdio::null()).await;
    session.dirty_hung_run().await;
    session
        .ends_cleanly(async |session: &mut Session| session.client.shutdown_and_exit().await)
        .await;
}

#[tokio::test]
async fn stdin_closing_ends_the_session_cleanly() {
    let mut session = Session::start(Stdio::null()).await;
    session.dirty_hung_run().await;
    session
        .ends_cleanly(async |session: &mut Session| session.client.close_input().await)
        .await;
}

#[tokio::test]
async fn a_closed_stdout_ends_the_session_cleanly() {
    let mock = MockModel::start(vec![Scenario::Hang {
        chunks_before: vec!["Thinking".into()],
    }])
    .await;
    let home = tempfile::tempdir().unwrap();
    mock.write_codex_home(home.path());
    // spawn_binary's client reads stdout itself; this one reads it through a
    // tap the test can cut, while stdin stays open.
    let (child, stdin, stdout) = spawn_binary_raw(home.path());
    let (tap_end, client_end) = tokio::io::duplex(1 << 16);
    let tap = tokio::spawn(async move {
        let (mut stdout, mut tap_end) = (stdout, tap_end);
        let _ = tokio::io::copy(&mut stdout, &mut tap_end).await;
    });
    let client = TestClient::new(client_end, stdin);
    let mut session = Session::initialize(
        child,
        client,
        mock,
        home,
        codex_binary().display().to_string(),
    )
    .await;
    session.dirty_hung_run().await;
    session
        .ends_cleanly(async move |_: &mut Session| {
            // Dropping the task drops our read end of codex-ls's stdout.
            tap.abort();
            let _ = tap.await;
        })
        .await;
}

#[tokio::test]
async fn a_closed_stderr_ends_the_session_without_a_panic() {
    let mut session = Session::start(Stdio::piped()).await;
    session.dirty_hung_run().await;
    session
        .ends_cleanly(async |session: &mut Session| {
            // The editor goes away with our stderr, as Neovim does when it
            // quits. Nothing more: codex-ls must notice by itself, and its
            // logging (at debug here) must not panic on the closed pipe.
            drop(session.child.stderr.take());
        })
        .await;
}

/// The crate's fake app-server that, at `initialize`, detaches a helper
/// that exits as soon as it is an orphan (its pid goes to `pid_file`). Then
/// it answers `thread/start` and `turn/start` and stays.
fn detaching_fake_codex(dir: &Path, pid_file: &Path) -> PathBuf {
    let script = Script::default()
        .on(
            "initialize",
            vec![
                Step::DetachOrphan {
                    pid_file: pid_file.to_path_buf(),
                },
                Step::Answer,
            ],
        )
        .on("turn/start", vec![Step::Answer]);
    support::binary::fake_codex(dir, &script)
}

#[tokio::test]
async fn orphans_are_reaped_as_they_exit_while_the_app_server_lives() {
    let mock = MockModel::start(vec![Scenario::text(["unused"])]).await;
    let home = tempfile::tempdir().unwrap();
    mock.write_codex_home(home.path());
    let pid_file = home.path().join("helper.pid");
    let fake = detaching_fake_codex(home.path(), &pid_file);
    let (child, client) = spawn_binary(home.path(), Some("debug"), Stdio::null());
    let mut session =
        Session::initialize(child, client, mock, home, fake.display().to_string()).await;
    let uri = open_document(
        &mut session.client,
        session.workspace.path(),
        "a.rs",
        "x\n",
        Some("x\n"),
    )
    .await;
    session
        .client
        .request(
            "workspace/executeCommand",
            json!({"command": "codex.run", "arguments": [
                {"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": "zombie"}
            ]}),
        )
        .await
        .expect("codex.run");
    assert!(
        wait_until(WAIT, || pid_file.exists()).await,
        "the fake codex never detached its helper"
    );
    let helper: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let reaped = wait_until(Duration::from_secs(5), || state(helper).is_none()).await;
    assert!(
        reaped,
        "the orphaned helper {helper} is still there (state {:?}): not reaped",
        state(helper)
    );
    // The app-server itself was left alone: it still runs.
    let app_server = descendants(session.pid())
        .into_iter()
        .find(|pid| state(*pid).is_some_and(|s| s != 'Z'));
    assert!(app_server.is_some(), "the app-server is gone");
    session.client.take_notifications("$/progress");
    session.client.allow_unclaimed("$/progress");
    session.client.shutdown_and_exit().await;
    let status = tokio::time::timeout(EXIT_WITHIN, session.child.wait())
        .await
        .expect("codex-ls exits")
        .unwrap();
    assert!(status.success(), "{status}");
}

/// The exit wins the race with a run that is still writing its snapshots
/// (a large unsaved buffer): the snapshots go anyway.
#[tokio::test]
async fn exit_while_a_run_writes_its_snapshots_leaves_none_behind() {
    let mut session = Session::start(Stdio::null()).await;
    let line = "let unsaved = \"text the user has not saved\";\n";
    let big = line.repeat((96 << 20) / line.len());
    let uri = open_document(
        &mut session.client,
        session.workspace.path(),
        "big.rs",
        &big,
        Some("saved\n"),
    )
    .await;
    session
        .client
        .request(
            "workspace/executeCommand",
            json!({"command": "codex.run", "arguments": [
                {"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": "big"}
            ]}),
        )
        .await
        .expect("codex.run");
    let temp_dir = session.home.path().join("tmp");
    assert!(
        wait_until(WAIT, || !snapshot_dirs(&temp_dir).is_empty()).await,
        "the run made no snapshot directory"
    );
    send_signal(&session, libc::SIGTERM);
    let status = tokio::time::timeout(EXIT_WITHIN, session.child.wait())
        .await
        .expect("codex-ls exits")
        .unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
    let left = snapshot_dirs(&temp_dir);
    assert!(left.is_empty(), "snapshots left behind: {left:?}");
    session.client.take_notifications("$/progress");
    session.client.allow_unclaimed("$/progress");
}
