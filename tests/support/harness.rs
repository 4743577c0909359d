//! The in-process harness: the codex-ls service served over
//! `tokio::io::duplex` to a [`TestClient`], with a fake `codex app-server`
//! (replaying recorded transcripts, or scripted by the test) behind a test
//! [`Launcher`].
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_ls::codex::{BackendError, Launched, Launcher};
use codex_ls::fuzzing::fake_app_server::{self, FakeHandle, Script, Transcript};
use serde_json::{Value, json};
use tokio::io::DuplexStream;

use super::editor::{
    initialize_params, next_progress, open_document, progress_until_end, serve_guarded,
    serve_in_process,
};
use super::lsp_client::TestClient;

/// Generous bound for anything that should happen "soon".
pub const WAIT: Duration = Duration::from_secs(10);
/// How long the final drain listens for late messages.
pub const DRAIN: Duration = Duration::from_millis(250);

// ---------------------------------------------------------------------------
// The fake launcher
// ---------------------------------------------------------------------------

pub fn transcript(name: &str) -> Transcript {
    Transcript::from_file(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format!("transcript-{name}.jsonl")),
    )
    .unwrap_or_else(|err| panic!("transcript {name}: {err}"))
}

/// What one launch plays: the fake's script (transcripts, one per turn, the
/// last repeating, and how to play them).
#[derive(Clone)]
pub struct Plan {
    pub script: Script,
}

impl Plan {
    pub fn new(names: &[&str]) -> Plan {
        Plan {
            script: Script::playing(names.iter().map(|name| transcript(name)).collect()),
        }
    }

    pub fn speed(mut self, speed: f64) -> Plan {
        self.script.speed = speed;
        self
    }

    pub fn crash_after(mut self, messages: usize) -> Plan {
        self.script.crash_after_turn_messages = Some(messages);
        self
    }
}

/// Starts a fake app-server per launch: launch `n` plays plan `n` (the last
/// plan repeats), or fails with `fail`.
pub struct FakeLauncher {
    plans: Mutex<VecDeque<Plan>>,
    fail: Option<BackendError>,
    handles: Mutex<Vec<FakeHandle>>,
    launches: AtomicUsize,
}

impl FakeLauncher {
    pub fn new(plans: Vec<Plan>) -> FakeLauncher {
        assert!(!plans.is_empty());
        FakeLauncher {
            plans: Mutex::new(plans.into()),
            fail: None,
            handles: Mutex::new(Vec::new()),
            launches: AtomicUsize::new(0),
        }
    }

    pub fn playing(names: &[&str]) -> FakeLauncher {
        FakeLauncher::new(vec![Plan::new(names)])
    }

    /// Plays `transcripts` (one per turn, the last repeating), e.g. recorded
    /// turns with their answer replaced.
    pub fn replaying(transcripts: Vec<Transcript>) -> FakeLauncher {
        FakeLauncher::new(vec![Plan {
            script: Script::playing(transcripts),
        }])
    }

    pub fn failing(err: BackendError) -> FakeLauncher {
        FakeLauncher {
            fail: Some(err),
            ..FakeLauncher::new(vec![Plan::new(&["ok"])])
        }
    }

    pub fn launches(&self) -> usize {
        self.launches.load(Ordering::SeqCst)
    }

    /// The fake of the `n`-th successful launch (0-based).
    pub fn fake(&self, n: usize) -> FakeHandle {
        self.handles.lock().unwrap()[n].clone()
    }

    /// What Codex was asked in the `n`-th turn of the first launch.
    pub fn asked(&self, n: usize) -> Asked {
        let fake = self.fake(0);
        let turn = &fake.received_method("turn/start")[n];
        // The cwd of the turn's thread: from the thread/start that made it.
        let thread_id = &turn["params"]["threadId"];
        let sent = fake.sent();
        let cwd = fake
            .received_method("thread/start")
            .into_iter()
            .find(|start| {
                sent.iter()
                    .any(|m| m["id"] == start["id"] && m["result"]["thread"]["id"] == *thread_id)
            })
            .and_then(|start| start["params"]["cwd"].as_str().map(PathBuf::from))
            .expect("the turn's thread/start");
        let (prompt, mentions) = turn_input(turn);
        let attachments = mentions
            .into_iter()
            .map(|(mention, placeholder)| {
                (PathBuf::from(mention.trim_start_matches('@')), placeholder)
            })
            .collect();
        Asked {
            cwd,
            prompt,
            attachments,
        }
    }
}

impl Launcher for FakeLauncher {
    fn launch(&self, _codex_path: &str) -> Result<Launched, BackendError> {
        let launch = self.launches.fetch_add(1, Ordering::SeqCst);
        if let Some(err) = &self.fail {
            return Err(err.clone());
        }
        let plan = {
            let mut plans = self.plans.lock().unwrap();
            if plans.len() > 1 {
                plans.pop_front().unwrap()
            } else {
                plans.front().cloned().unwrap()
            }
        };
        let (server_side, fake_side) = tokio::io::duplex(1 << 16);
        let (fake_read, fake_write) = tokio::io::split(fake_side);
        let handle = fake_app_server::spawn(fake_read, fake_write, plan.script, launch)
            .expect("an in-process script");
        self.handles.lock().unwrap().push(handle);
        Ok(launched_over(server_side))
    }
}

/// A launcher whose app-server is the script `F`, run on the far end of a
/// duplex at every launch.
pub struct ScriptedLauncher<F>(pub F);

impl<F, Fut> Launcher for ScriptedLauncher<F>
where
    F: Fn(DuplexStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn launch(&self, _codex_path: &str) -> Result<Launched, BackendError> {
        let (server_side, script_side) = tokio::io::duplex(1 << 16);
        tokio::spawn((self.0)(script_side));
        Ok(launched_over(server_side))
    }
}

/// An app-server that codex-ls talks to over `io`.
fn launched_over(io: DuplexStream) -> Launched {
    let (reader, writer) = tokio::io::split(io);
    Launched {
        reader: Box::new(reader),
        writer: Box::new(writer),
        process: None,
    }
}

// ---------------------------------------------------------------------------
// What Codex was asked
// ---------------------------------------------------------------------------

/// The single text input of a `turn/start` the fake received:
/// (text, [(mention, placeholder)]).
pub fn turn_input(turn_start: &Value) -> (String, Vec<(String, String)>) {
    let input = turn_start["params"]["input"].as_array().expect("input");
    assert_eq!(input.len(), 1, "one input item expected: {turn_start}");
    assert_eq!(input[0]["type"], "text");
    let text = input[0]["text"].as_str().unwrap().to_string();
    let mentions = input[0]["text_elements"]
        .as_array()
        .expect("text_elements (snake_case)")
        .iter()
        .map(|element| {
            let start = element["byteRange"]["start"].as_u64().unwrap() as usize;
            let end = element["byteRange"]["end"].as_u64().unwrap() as usize;
            (
                text[start..end].to_string(),
                element["placeholder"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    (text, mentions)
}

/// A turn as the fake app-server received it: its thread's cwd, the prompt
/// and the attached `(path, placeholder)`s.
pub struct Asked {
    pub cwd: PathBuf,
    pub prompt: String,
    pub attachments: Vec<(PathBuf, String)>,
}

/// How the directories of a run's snapshots are named.
pub const SNAPSHOT_PREFIX: &str = "codex-ls-run-";

/// The codex-ls snapshot directory the absolute `path` is in, if any.
pub fn snapshot_root(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    path.ancestors()
        .find(|dir| {
            dir.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(SNAPSHOT_PREFIX))
        })
        .map(Path::to_path_buf)
}

// ---------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------

/// Capabilities of a streaming client (the default of these tests).
pub fn streaming_caps() -> Value {
    json!({"window": {"workDoneProgress": true}, "general": {"positionEncodings": ["utf-16"]}})
}

pub fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}})
}

pub struct Harness<L = FakeLauncher> {
    pub client: TestClient,
    pub launcher: Arc<L>,
    pub workspace: tempfile::TempDir,
    pub init_result: Value,
}

/// Where the server writes answer files for `workspace` (cleaned up by the
/// tests that make it write some).
pub fn answers_folder(workspace: &Path) -> PathBuf {
    codex_ls::answers::folder_for(&[workspace.to_path_buf()]).expect("a private answers folder")
}

impl<L: Launcher> Harness<L> {
    pub async fn start(launcher: L) -> Harness<L> {
        Harness::start_with(launcher, streaming_caps(), json!({})).await
    }

    /// Builds the service over a duplex, initializes it with `capabilities`
    /// and `options` (plus `codexPath`) and a workspace folder in a tempdir.
    pub async fn start_with(launcher: L, capabilities: Value, options: Value) -> Harness<L> {
        let launcher = Arc::new(launcher);
        let client = serve_in_process(launcher.clone());
        let workspace = tempfile::tempdir().unwrap();
        let folder = workspace.path().to_path_buf();
        Harness::initialize(client, launcher, workspace, &folder, capabilities, options).await
    }

    /// [`start`](Self::start) (the same transport and input checks), as
    /// `main` serves it.
    pub async fn start_guarded(launcher: L) -> Harness<L> {
        let launcher = Arc::new(launcher);
        let client = serve_guarded(launcher.clone());
        let workspace = tempfile::tempdir().unwrap();
        let folder = workspace.path().to_path_buf();
        Harness::initialize(
            client,
            launcher,
            workspace,
            &folder,
            streaming_caps(),
            json!({}),
        )
        .await
    }

    /// Initializes `client` (a server that launches with `launcher`) with
    /// `folder` as its workspace folder, `capabilities` and `options` (plus
    /// `codexPath`).
    pub async fn initialize(
        mut client: TestClient,
        launcher: Arc<L>,
        workspace: tempfile::TempDir,
        folder: &Path,
        capabilities: Value,
        options: Value,
    ) -> Harness<L> {
        let mut options = options;
        if options.get("codexPath").is_none() {
            options["codexPath"] = json!("codex-in-process-fake");
        }
        let init_result = client
            .initialize(initialize_params(folder, capabilities, options))
            .await;
        Harness {
            client,
            launcher,
            workspace,
            init_result,
        }
    }

    pub async fn open(&mut self, relative: &str, text: &str, on_disk: Option<&str>) -> String {
        open_document(
            &mut self.client,
            self.workspace.path(),
            relative,
            text,
            on_disk,
        )
        .await
    }

    pub async fn command(&mut self, command: &str, args: Value) -> Result<Value, Value> {
        self.client
            .request(
                "workspace/executeCommand",
                json!({"command": command, "arguments": [args]}),
            )
            .await
    }

    /// A `didOpen` of `uri` (any URI, no file written) with `text`.
    pub async fn open_uri(&mut self, uri: &str, text: &str) {
        super::editor::did_open(&mut self.client, uri, text).await;
    }

    /// `codex.status`.
    pub async fn status(&mut self) -> Value {
        self.command("codex.status", json!({}))
            .await
            .unwrap_or_else(|err| panic!("codex.status failed: {err}"))
    }

    /// `codex.status`, asserting that no run is active (a run leaves the
    /// registry before its `end` report).
    pub async fn status_when_idle(&mut self) -> Value {
        let status = self.status().await;
        assert_eq!(
            status["activeRuns"],
            json!([]),
            "runs still active: {status}"
        );
        status
    }

    /// `codex.run`, which must be accepted: returns `{runId, token}`.
    pub async fn run(&mut self, args: Value) -> Value {
        let started = self
            .command("codex.run", args)
            .await
            .unwrap_or_else(|e| panic!("codex.run was rejected: {e}"));
        assert!(started["runId"].is_u64(), "{started}");
        assert!(!started["token"].is_null(), "{started}");
        started
    }

    /// Runs "Explain" on `uri` with progress token `token` and reads its
    /// progress to the end, which must be `completed`; returns the end.
    pub async fn run_to_completion(&mut self, uri: &str, token: &str) -> Value {
        self.run(
            json!({"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": token}),
        )
        .await;
        let (_, _, end) = self.progress_until_end(&json!(token)).await;
        assert_eq!(end["codex"]["status"], "completed", "{end}");
        end
    }

    /// The next `$/progress` value on `token`.
    pub async fn next_progress(&mut self, token: &Value) -> Value {
        next_progress(&mut self.client, token).await
    }

    /// Reads the run's progress until its end: (begin, reports, end).
    pub async fn progress_until_end(&mut self, token: &Value) -> (Value, Vec<Value>, Value) {
        let begin = self.next_progress(token).await;
        assert_eq!(
            begin["kind"], "begin",
            "first progress is not begin: {begin}"
        );
        let (reports, end) = self.rest_until_end(token).await;
        (begin, reports, end)
    }

    /// Reports until (and including) the end, from a point mid-run.
    pub async fn rest_until_end(&mut self, token: &Value) -> (Vec<Value>, Value) {
        progress_until_end(&mut self.client, token).await
    }

    pub async fn diagnostics(&mut self, uri: &str) -> Value {
        let uri = uri.to_string();
        self.client
            .expect_notification_where(
                "textDocument/publishDiagnostics",
                move |p| p["uri"] == uri.as_str(),
                WAIT,
            )
            .await
    }

    /// Claims the next `window/showMessage`, which must contain `needle`;
    /// returns its params.
    pub async fn shown_message(&mut self, needle: &str) -> Value {
        let shown = self
            .client
            .expect_notification("window/showMessage", WAIT)
            .await;
        let message = shown["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{shown}");
        shown
    }

    /// Drains late messages and asserts nothing unexpected came: no
    /// diagnostics and no messages to the user (the fake says 0.169.0, so
    /// no version warning either). Then drops the client (which panics on
    /// anything else left unclaimed).
    pub async fn finish(mut self) {
        self.client.drain(DRAIN).await;
        let shown = self.client.take_notifications("window/showMessage");
        assert!(shown.is_empty(), "unexpected window/showMessage: {shown:?}");
        let published = self
            .client
            .take_notifications("textDocument/publishDiagnostics");
        assert!(
            published.is_empty(),
            "unexpected publishDiagnostics: {published:?}"
        );
    }
}
