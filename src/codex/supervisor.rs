//! Starts the app-server lazily on the first run, hands out the live
//! connection, notices when it dies, and takes it (and its whole process
//! tree) down on shutdown. A run that finds the app-server dead gets a fresh
//! one; runs in flight on the dead one have already failed through their
//! closed connection.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::connection::{Connection, ThreadSubscription};
use super::error::{BackendError, RpcError};
use super::process::{self, AppServerProcess};
use super::protocol::{
    self, ClientInfo, InitializeParams, InitializeResult, ThreadResumeParams, ThreadStartParams,
    ThreadStartResult, TurnInterruptParams, TurnStartParams, TurnStartResult,
};

/// How long the app-server may take to answer `initialize` (it takes 0.6 to
/// 1.7 s on a 2-core machine).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long thread and turn requests may take (they take about 50 ms).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Shutdown must leave no process behind within 2 s.
const TERMINATE_DEADLINE: Duration = Duration::from_millis(1800);

/// The two ends of a started app-server, and its process when it is one.
pub struct Launched {
    pub reader: Box<dyn AsyncRead + Send + Unpin>,
    pub writer: Box<dyn AsyncWrite + Send + Unpin>,
    pub process: Option<AppServerProcess>,
}

/// Starts an app-server. The real one spawns `codex app-server`; tests plug
/// in a fake that replays recorded transcripts.
pub trait Launcher: Send + Sync + 'static {
    fn launch(&self, codex_path: &str) -> Result<Launched, BackendError>;
}

/// Spawns the real `codex app-server`.
pub struct ProcessLauncher;

impl Launcher for ProcessLauncher {
    fn launch(&self, codex_path: &str) -> Result<Launched, BackendError> {
        let (process, stdout, stdin) = process::spawn(codex_path)?;
        Ok(Launched {
            reader: Box::new(stdout),
            writer: Box::new(stdin),
            process: Some(process),
        })
    }
}

/// The state of the backend as `codex.status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendState {
    NotStarted,
    Starting,
    Ready,
    Exited,
    Unavailable,
}

impl BackendState {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendState::NotStarted => "notStarted",
            BackendState::Starting => "starting",
            BackendState::Ready => "ready",
            BackendState::Exited => "exited",
            BackendState::Unavailable => "unavailable",
        }
    }
}

#[derive(Debug, Clone)]
pub struct BackendStatus {
    pub state: BackendState,
    pub version: Option<String>,
    pub pid: Option<u32>,
    pub last_error: Option<String>,
}

/// One live app-server.
pub struct AppServer {
    connection: Connection,
    version: Option<String>,
    codex_path: String,
    generation: u64,
    process: Mutex<Option<AppServerProcess>>,
    pid: Option<u32>,
}

impl AppServer {
    /// The server's version, from its `initialize` answer.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Increases each time a fresh app-server starts; threads of an older
    /// generation are gone.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn is_closed(&self) -> bool {
        self.connection.is_closed()
    }

    pub async fn thread_start(&self, params: &ThreadStartParams) -> Result<String, RpcError> {
        let result: ThreadStartResult = self
            .connection
            .request(protocol::THREAD_START, params, REQUEST_TIMEOUT)
            .await?;
        Ok(result.thread.id)
    }

    /// Resumes a thread this app-server (or an earlier one) persisted.
    pub async fn thread_resume(&self, params: &ThreadResumeParams) -> Result<String, RpcError> {
        let result: ThreadStartResult = self
            .connection
            .request(protocol::THREAD_RESUME, params, REQUEST_TIMEOUT)
            .await?;
        Ok(result.thread.id)
    }

    pub async fn turn_start(&self, params: &TurnStartParams) -> Result<TurnStartResult, RpcError> {
        self.connection
            .request(protocol::TURN_START, params, REQUEST_TIMEOUT)
            .await
    }

    pub async fn turn_interrupt(
        &self,
        thread_id: &str,
        turn_id: &str,
        timeout: Duration,
    ) -> Result<(), RpcError> {
        let params = TurnInterruptParams {
            thread_id: thread_id.to_string(),
            turn_id: turn_id.to_string(),
        };
        self.connection
            .request::<_, Value>(protocol::TURN_INTERRUPT, &params, timeout)
            .await
            .map(|_| ())
    }

    pub fn subscribe(&self, thread_id: &str) -> ThreadSubscription {
        self.connection.subscribe(thread_id)
    }

    async fn terminate(&self, keep: Vec<u32>) {
        let process = self
            .process
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(process) = process {
            process.terminate(TERMINATE_DEADLINE, keep).await;
        }
    }
}

/// Owns the app-server's life cycle.
pub struct Supervisor {
    launcher: Arc<dyn Launcher>,
    client_version: String,
    current: tokio::sync::Mutex<Option<Arc<AppServer>>>,
    status: Arc<Mutex<BackendStatus>>,
    generation: Arc<AtomicU64>,
    shutting_down: AtomicBool,
}

impl Supervisor {
    pub fn new(launcher: Arc<dyn Launcher>, client_version: &str) -> Supervisor {
        Supervisor {
            launcher,
            client_version: client_version.to_string(),
            current: tokio::sync::Mutex::new(None),
            status: Arc::new(Mutex::new(BackendStatus {
                state: BackendState::NotStarted,
                version: None,
                pid: None,
                last_error: None,
            })),
            generation: Arc::new(AtomicU64::new(0)),
            shutting_down: AtomicBool::new(false),
        }
    }

    pub fn status(&self) -> BackendStatus {
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The generation of the running app-server, if one is ready: threads
    /// bound to another generation must be resumed.
    pub fn live_generation(&self) -> Option<u64> {
        (self.status().state == BackendState::Ready).then(|| self.generation.load(Ordering::SeqCst))
    }

    fn set_status(&self, update: impl FnOnce(&mut BackendStatus)) {
        update(
            &mut self
                .status
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
    }

    /// The live app-server, starting one (and reaping a dead one) if needed.
    pub async fn connect(&self, codex_path: &str) -> Result<Arc<AppServer>, BackendError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(BackendError::ShuttingDown);
        }
        let mut current = self.current.lock().await;
        if let Some(server) = current.as_ref()
            && !server.is_closed()
            && server.codex_path == codex_path
        {
            return Ok(server.clone());
        }
        if let Some(old) = current.take() {
            old.terminate(Vec::new()).await;
        }
        self.set_status(|status| status.state = BackendState::Starting);
        match self.start(codex_path).await {
            Ok(server) => {
                self.set_status(|status| {
                    *status = BackendStatus {
                        state: BackendState::Ready,
                        version: server.version.clone(),
                        pid: server.pid,
                        last_error: None,
                    }
                });
                self.watch(&server);
                *current = Some(server.clone());
                Ok(server)
            }
            Err(err) => {
                self.set_status(|status| {
                    status.state = BackendState::Unavailable;
                    status.last_error = Some(err.to_string());
                });
                Err(err)
            }
        }
    }

    async fn start(&self, codex_path: &str) -> Result<Arc<AppServer>, BackendError> {
        let launched = self.launcher.launch(codex_path)?;
        let connection = Connection::start(launched.reader, launched.writer);
        let pid = launched.process.as_ref().and_then(AppServerProcess::pid);
        let server = AppServer {
            connection,
            version: None,
            codex_path: codex_path.to_string(),
            generation: self.generation.fetch_add(1, Ordering::SeqCst) + 1,
            process: Mutex::new(launched.process),
            pid,
        };
        match self.handshake(&server.connection).await {
            Ok(version) => Ok(Arc::new(AppServer { version, ..server })),
            Err(err) => {
                server.terminate(Vec::new()).await;
                Err(err)
            }
        }
    }

    async fn handshake(&self, connection: &Connection) -> Result<Option<String>, BackendError> {
        let params = InitializeParams {
            client_info: ClientInfo {
                name: "codex-ls".to_string(),
                title: Some("codex-ls".to_string()),
                version: self.client_version.clone(),
            },
        };
        let result: InitializeResult = connection
            .request(protocol::INITIALIZE, &params, HANDSHAKE_TIMEOUT)
            .await
            .map_err(|err| match err {
                RpcError::Closed { .. } => BackendError::Handshake {
                    reason: "it exited during startup (is this really the Codex CLI, and does `codex app-server` run?)"
                        .to_string(),
                },
                other => BackendError::Handshake { reason: other.to_string() },
            })?;
        connection.notify(protocol::INITIALIZED, None);
        Ok(result.server_version().map(str::to_string))
    }

    /// Marks the backend exited when this server's connection closes.
    fn watch(&self, server: &Arc<AppServer>) {
        let connection = server.connection.clone();
        let generation = server.generation;
        let latest = self.generation.clone();
        let status = self.status.clone();
        tokio::spawn(async move {
            connection.closed().await;
            let mut status = status
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            // A newer app-server may already be up; only the latest one's
            // end changes the state.
            if status.state == BackendState::Ready && latest.load(Ordering::SeqCst) == generation {
                tracing::warn!("codex app-server (generation {generation}) exited");
                status.state = BackendState::Exited;
                status.pid = None;
            }
        });
    }

    /// Stops the app-server and every process it started. Later calls to
    /// `connect` fail with `ShuttingDown`.
    pub async fn shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        let server = self.current.lock().await.take();
        if let Some(server) = server {
            server.terminate(Vec::new()).await;
        }
        self.set_status(|status| {
            status.state = BackendState::Exited;
            status.pid = None;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::atomic::AtomicUsize;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// Answers `initialize` like codex 0.169, then stays until told to die.
    struct Scripted {
        launches: AtomicUsize,
        kill: tokio::sync::Notify,
        fail_with: Option<BackendError>,
    }

    impl Launcher for Arc<Scripted> {
        fn launch(&self, _codex_path: &str) -> Result<Launched, BackendError> {
            if let Some(err) = &self.fail_with {
                return Err(err.clone());
            }
            self.launches.fetch_add(1, Ordering::SeqCst);
            let (ours, theirs) = tokio::io::duplex(1 << 16);
            let (their_read, mut their_write) = tokio::io::split(theirs);
            let me = self.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(their_read).lines();
                loop {
                    tokio::select! {
                        line = lines.next_line() => {
                            let Ok(Some(line)) = line else { return };
                            let message: Value = serde_json::from_str(&line).unwrap();
                            if message["method"] == "initialize" {
                                let reply = json!({"id": message["id"], "result": {"userAgent": "codex-ls/0.169.0 (Linux)"}});
                                their_write.write_all(format!("{reply}\n").as_bytes()).await.unwrap();
                            }
                        }
                        () = me.kill.notified() => return,
                    }
                }
            });
            let (reader, writer) = tokio::io::split(ours);
            Ok(Launched {
                reader: Box::new(reader),
                writer: Box::new(writer),
                process: None,
            })
        }
    }

    fn scripted(fail_with: Option<BackendError>) -> Arc<Scripted> {
        Arc::new(Scripted {
            launches: AtomicUsize::new(0),
            kill: tokio::sync::Notify::new(),
            fail_with,
        })
    }

    #[tokio::test]
    async fn starts_lazily_reuses_and_restarts_after_a_crash() {
        let launcher = scripted(None);
        let supervisor = Supervisor::new(Arc::new(launcher.clone()), "0.1.0");
        assert_eq!(supervisor.status().state, BackendState::NotStarted);
        let first = supervisor.connect("codex").await.unwrap();
        assert_eq!(first.version(), Some("0.169.0"));
        assert_eq!(supervisor.status().state, BackendState::Ready);
        let again = supervisor.connect("codex").await.unwrap();
        assert_eq!(first.generation(), again.generation());
        assert_eq!(launcher.launches.load(Ordering::SeqCst), 1);

        launcher.kill.notify_one();
        tokio::time::timeout(Duration::from_secs(5), first.connection.closed())
            .await
            .unwrap();
        let fresh = supervisor.connect("codex").await.unwrap();
        assert_eq!(launcher.launches.load(Ordering::SeqCst), 2);
        assert!(fresh.generation() > first.generation());
        assert_eq!(supervisor.status().state, BackendState::Ready);

        supervisor.shutdown().await;
        assert_eq!(supervisor.status().state, BackendState::Exited);
        assert!(matches!(
            supervisor.connect("codex").await,
            Err(BackendError::ShuttingDown)
        ));
    }

    #[tokio::test]
    async fn a_launch_failure_leaves_the_backend_unavailable_with_the_reason() {
        let missing = BackendError::NotFound {
            path: "codex".into(),
        };
        let supervisor = Supervisor::new(Arc::new(scripted(Some(missing.clone()))), "0.1.0");
        assert_eq!(supervisor.connect("codex").await.err(), Some(missing));
        let status = supervisor.status();
        assert_eq!(status.state, BackendState::Unavailable);
        assert!(status.last_error.unwrap().contains("@openai/codex"));
    }
}
