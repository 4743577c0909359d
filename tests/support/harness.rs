//! The in-process harness: the codex-ls service served over
//! `tokio::io::duplex` to a [`TestClient`], with a fake `codex app-server`
//! (replaying recorded transcripts) behind a test [`Launcher`].
#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_ls::codex::{BackendError, Launched, Launcher};
use serde_json::{Value, json};

use super::editor::{file_uri, next_progress, open_document, progress_until_end, serve_in_process};
use super::fake_app_server::{FakeHandle, FakeOptions, Transcript, spawn_fake_app_server};
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
}

/// What one launch plays: transcripts (one per turn, the last repeating) and
/// the fake's options.
#[derive(Clone)]
pub struct Plan {
    pub transcripts: Vec<Transcript>,
    pub options: FakeOptions,
}

impl Plan {
    pub fn new(names: &[&str]) -> Plan {
        Plan {
            transcripts: names.iter().map(|name| transcript(name)).collect(),
            options: FakeOptions::default(),
        }
    }

    pub fn speed(mut self, speed: f64) -> Plan {
        self.options.speed = speed;
        self
    }

    pub fn crash_after(mut self, messages: usize) -> Plan {
        self.options.crash_after_turn_messages = Some(messages);
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
}

impl Launcher for FakeLauncher {
    fn launch(&self, _codex_path: &str) -> Result<Launched, BackendError> {
        self.launches.fetch_add(1, Ordering::SeqCst);
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
        let handle = spawn_fake_app_server(fake_read, fake_write, plan.transcripts, plan.options);
        self.handles.lock().unwrap().push(handle);
        let (reader, writer) = tokio::io::split(server_side);
        Ok(Launched {
            reader: Box::new(reader),
            writer: Box::new(writer),
            process: None,
        })
    }
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

pub struct Harness {
    pub client: TestClient,
    pub launcher: Arc<FakeLauncher>,
    pub workspace: tempfile::TempDir,
    pub init_result: Value,
}

/// Where the server writes answer files for `workspace` (cleaned up by the
/// tests that make it write some).
pub fn answers_folder(workspace: &Path) -> PathBuf {
    codex_ls::answers::folder_for(&[workspace.to_path_buf()])
}

impl Harness {
    pub async fn start(launcher: FakeLauncher) -> Harness {
        Harness::start_with(launcher, streaming_caps(), json!({})).await
    }

    /// Builds the service over a duplex, initializes it with `capabilities`
    /// and `options` (plus `codexPath`) and a workspace folder in a tempdir.
    pub async fn start_with(
        launcher: FakeLauncher,
        capabilities: Value,
        options: Value,
    ) -> Harness {
        let launcher = Arc::new(launcher);
        let mut client = serve_in_process(launcher.clone());
        let workspace = tempfile::tempdir().unwrap();
        let mut options = options;
        if options.get("codexPath").is_none() {
            options["codexPath"] = json!("codex-in-process-fake");
        }
        let init_result = client
            .initialize(json!({
                "processId": null,
                "capabilities": capabilities,
                "workspaceFolders": [{"uri": file_uri(workspace.path()), "name": "ws"}],
                "initializationOptions": options,
            }))
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
