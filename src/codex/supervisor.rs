//! Starts the app-server lazily on the first run, hands out the live
//! connection, notices when it dies, and takes it (and its whole process
//! tree) down on shutdown. A run that finds the app-server dead gets a fresh
//! one; runs in flight on the dead one fail at once through their closed
//! connection.
//!
//! A start runs on a task of its own and is shared by every run that waits
//! for it: a run whose user cancels stops waiting at once, while the start
//! goes on (bounded by the handshake timeout) so `codex.status` stays true
//! and the next run finds the app-server ready.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::connection::{Connection, ThreadSubscription};
use super::error::{BackendError, RpcError};
use super::process::{self, AppServerProcess, ProcessExit};
use super::protocol::{
    self, ClientInfo, InitializeCapabilities, InitializeParams, InitializeResult,
    ThreadResumeParams, ThreadStartParams, ThreadStartResult, TurnInterruptParams, TurnStartParams,
    TurnStartResult,
};
use super::threads;

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
    exit: Option<ProcessExit>,
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

    pub async fn thread_start(
        &self,
        params: &ThreadStartParams,
    ) -> Result<ThreadStartResult, RpcError> {
        self.connection
            .request(protocol::THREAD_START, params, REQUEST_TIMEOUT)
            .await
    }

    /// Resumes a thread this app-server (or an earlier one) persisted.
    pub async fn thread_resume(
        &self,
        params: &ThreadResumeParams,
    ) -> Result<ThreadStartResult, RpcError> {
        self.connection
            .request(protocol::THREAD_RESUME, params, REQUEST_TIMEOUT)
            .await
    }

    /// The threads codex keeps (`thread/list`).
    pub async fn thread_list(
        &self,
        params: &threads::ThreadListParams,
    ) -> Result<threads::ThreadListResult, RpcError> {
        self.connection
            .request(threads::THREAD_LIST, params, REQUEST_TIMEOUT)
            .await
    }

    /// One thread, with its turns and their items when asked.
    pub async fn thread_read(
        &self,
        params: &threads::ThreadReadParams,
    ) -> Result<threads::ThreadReadResult, RpcError> {
        self.connection
            .request(threads::THREAD_READ, params, REQUEST_TIMEOUT)
            .await
    }

    /// A new thread with an existing thread's history.
    pub async fn thread_fork(
        &self,
        params: &threads::ThreadForkParams,
    ) -> Result<ThreadStartResult, RpcError> {
        self.connection
            .request(threads::THREAD_FORK, params, REQUEST_TIMEOUT)
            .await
    }

    /// Drops a turn and the later ones from a thread's history.
    pub async fn thread_revert(
        &self,
        params: &threads::ThreadRevertParams,
    ) -> Result<(), RpcError> {
        self.connection
            .request::<_, Value>(threads::THREAD_REVERT, params, REQUEST_TIMEOUT)
            .await
            .map(|_| ())
    }

    /// Adds input to the running turn.
    pub async fn turn_steer(
        &self,
        params: &threads::TurnSteerParams,
    ) -> Result<threads::TurnSteerResult, RpcError> {
        self.connection
            .request(threads::TURN_STEER, params, REQUEST_TIMEOUT)
            .await
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

    /// The notices codex sent outside any thread since the last call (e.g.
    /// a `configWarning` at start-up), each once.
    pub fn take_notices(&self) -> Vec<super::steps::Notice> {
        self.connection
            .take_notices()
            .iter()
            .filter_map(|note| super::steps::decode_notice(&note.method, &note.params))
            .collect()
    }

    pub fn subscribe(&self, thread_id: &str) -> ThreadSubscription {
        self.connection.subscribe(thread_id)
    }

    async fn terminate(&self, keep: Vec<u32>) {
        self.connection.close();
        let process = lock(&self.process).take();
        if let Some(process) = process {
            process.terminate(TERMINATE_DEADLINE, keep).await;
        }
    }

    /// Resolves when this app-server is gone: its process exited (seen at
    /// once, even while a helper it started still holds its output open) or
    /// its connection closed. Then closes the connection, which fails every
    /// request and turn in flight, and returns what is known of the end.
    async fn ended(&self) -> Option<String> {
        let exited = async {
            match self.exit.clone() {
                Some(mut exit) => exit.wait().await,
                None => std::future::pending().await,
            }
        };
        let how = tokio::select! {
            how = exited => Some(how),
            () = self.connection.closed() => self.exit.as_ref().and_then(ProcessExit::ended),
        };
        self.connection.close();
        how
    }
}

/// The outcome of one start, shared by every run waiting for it.
type StartOutcome = watch::Receiver<Option<Result<Arc<AppServer>, BackendError>>>;

/// What the supervisor holds.
enum Slot {
    Empty,
    /// A start is under way on its own task.
    Starting {
        codex_path: String,
        generation: u64,
        outcome: StartOutcome,
    },
    Ready(Arc<AppServer>),
}

/// Owns the app-server's life cycle.
pub struct Supervisor {
    inner: Arc<Inner>,
}

struct Inner {
    launcher: Arc<dyn Launcher>,
    client_version: String,
    slot: Mutex<Slot>,
    status: Mutex<BackendStatus>,
    generation: AtomicU64,
    shutting_down: AtomicBool,
}

impl Supervisor {
    pub fn new(launcher: Arc<dyn Launcher>, client_version: &str) -> Supervisor {
        Supervisor {
            inner: Arc::new(Inner {
                launcher,
                client_version: client_version.to_string(),
                slot: Mutex::new(Slot::Empty),
                status: Mutex::new(BackendStatus {
                    state: BackendState::NotStarted,
                    version: None,
                    pid: None,
                    last_error: None,
                }),
                generation: AtomicU64::new(0),
                shutting_down: AtomicBool::new(false),
            }),
        }
    }

    pub fn status(&self) -> BackendStatus {
        lock(&self.inner.status).clone()
    }

    /// The generation of the running app-server, if one is ready: threads
    /// bound to another generation must be resumed.
    pub fn live_generation(&self) -> Option<u64> {
        match &*lock(&self.inner.slot) {
            Slot::Ready(server) if !server.is_closed() => Some(server.generation),
            _ => None,
        }
    }

    /// The live app-server, starting one (and reaping a dead one) if needed.
    /// Dropping the future stops waiting, not the start.
    pub async fn connect(&self, codex_path: &str) -> Result<Arc<AppServer>, BackendError> {
        let mut outcome = self.inner.current_or_start(codex_path)?;
        let started = outcome.wait_for(Option::is_some).await;
        match started.as_deref() {
            Ok(Some(result)) => result.clone(),
            // The start's task ended without an outcome: the runtime is
            // going down.
            Ok(None) | Err(_) => Err(BackendError::ShuttingDown),
        }
    }

    /// Stops the app-server and every process it started. Later calls to
    /// `connect` fail with `ShuttingDown`; a start under way is taken down
    /// when it finishes.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let previous = std::mem::replace(&mut *lock(&self.inner.slot), Slot::Empty);
        if let Slot::Ready(server) = previous {
            server.terminate(Vec::new()).await;
        }
        self.inner.set_status(|status| {
            status.state = BackendState::Exited;
            status.pid = None;
        });
    }
}

impl Inner {
    fn set_status(&self, update: impl FnOnce(&mut BackendStatus)) {
        update(&mut lock(&self.status));
    }

    /// The outcome of the live server, of the start under way, or of a
    /// start begun now on a task of its own.
    fn current_or_start(self: &Arc<Self>, codex_path: &str) -> Result<StartOutcome, BackendError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(BackendError::ShuttingDown);
        }
        let mut slot = lock(&self.slot);
        match &*slot {
            Slot::Ready(server) if !server.is_closed() && server.codex_path == codex_path => {
                return Ok(watch::channel(Some(Ok(server.clone()))).1);
            }
            Slot::Starting {
                codex_path: starting,
                outcome,
                ..
            } if starting == codex_path => return Ok(outcome.clone()),
            _ => {}
        }
        // A dead server (or one for another `codexPath`) is taken down
        // before the fresh one starts; a start for another path under way
        // finds itself superseded when it ends.
        let old = match std::mem::replace(&mut *slot, Slot::Empty) {
            Slot::Ready(server) => Some(server),
            Slot::Starting { .. } | Slot::Empty => None,
        };
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        let (send, outcome) = watch::channel(None);
        *slot = Slot::Starting {
            codex_path: codex_path.to_string(),
            generation,
            outcome: outcome.clone(),
        };
        drop(slot);
        self.set_status(|status| status.state = BackendState::Starting);
        let inner = self.clone();
        let codex_path = codex_path.to_string();
        tokio::spawn(async move {
            if let Some(old) = old {
                old.terminate(Vec::new()).await;
            }
            let result = inner.start(&codex_path, generation).await;
            let result = inner.install(generation, result).await;
            let _ = send.send(Some(result));
        });
        Ok(outcome)
    }

    async fn start(
        &self,
        codex_path: &str,
        generation: u64,
    ) -> Result<Arc<AppServer>, BackendError> {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Err(BackendError::ShuttingDown);
        }
        let launched = self.launcher.launch(codex_path)?;
        let connection = Connection::start(launched.reader, launched.writer);
        let pid = launched.process.as_ref().and_then(AppServerProcess::pid);
        let exit = launched.process.as_ref().map(AppServerProcess::exit);
        let server = AppServer {
            connection,
            version: None,
            codex_path: codex_path.to_string(),
            generation,
            process: Mutex::new(launched.process),
            exit,
            pid,
        };
        match self.handshake(&server).await {
            Ok(version) => {
                super::version::log_found(version.as_deref(), pid);
                Ok(Arc::new(AppServer { version, ..server }))
            }
            Err(err) => {
                server.terminate(Vec::new()).await;
                Err(err)
            }
        }
    }

    /// `initialize`, bounded by the handshake timeout and by the process's
    /// exit (a binary that exits at once is not waited for).
    async fn handshake(&self, server: &AppServer) -> Result<Option<String>, BackendError> {
        let params = InitializeParams {
            client_info: ClientInfo {
                name: "codex-ls".to_string(),
                title: Some("codex-ls".to_string()),
                version: self.client_version.clone(),
            },
            capabilities: InitializeCapabilities {
                opt_out_notification_methods: super::steps::UNUSED_NOTIFICATIONS
                    .iter()
                    .map(|method| method.to_string())
                    .collect(),
            },
        };
        let exited_early = || {
            BackendError::Handshake {
            reason: "it exited during startup (is this really the Codex CLI, and does `codex app-server` run?)"
                .to_string(),
        }
        };
        let answered = tokio::select! {
            answered = server
                .connection
                .request::<_, InitializeResult>(protocol::INITIALIZE, &params, HANDSHAKE_TIMEOUT) => answered,
            _ = server.ended() => return Err(exited_early()),
        };
        let result = answered.map_err(|err| match err {
            RpcError::Closed { .. } => exited_early(),
            other => BackendError::Handshake {
                reason: other.to_string(),
            },
        })?;
        server.connection.notify(protocol::INITIALIZED, None);
        Ok(result.server_version().map(str::to_string))
    }

    /// Makes a finished start the current server, unless another start or
    /// a shutdown came first (then the server it made is taken down).
    async fn install(
        self: &Arc<Self>,
        generation: u64,
        result: Result<Arc<AppServer>, BackendError>,
    ) -> Result<Arc<AppServer>, BackendError> {
        let current = {
            let mut slot = lock(&self.slot);
            let ours = matches!(&*slot, Slot::Starting { generation: g, .. } if *g == generation);
            let current = ours && !self.shutting_down.load(Ordering::SeqCst);
            if current {
                *slot = match &result {
                    Ok(server) => Slot::Ready(server.clone()),
                    Err(_) => Slot::Empty,
                };
                self.set_status(|status| match &result {
                    Ok(server) => {
                        *status = BackendStatus {
                            state: BackendState::Ready,
                            version: server.version.clone(),
                            pid: server.pid,
                            last_error: None,
                        }
                    }
                    Err(err) => {
                        status.state = BackendState::Unavailable;
                        status.last_error = Some(err.to_string());
                    }
                });
            }
            current
        };
        match result {
            Ok(server) if current => {
                self.watch(&server);
                Ok(server)
            }
            Ok(server) => {
                server.terminate(Vec::new()).await;
                Err(BackendError::ShuttingDown)
            }
            Err(err) => Err(err),
        }
    }

    /// Marks the backend exited when this server ends, and fails what was
    /// in flight on it at once.
    fn watch(self: &Arc<Self>, server: &Arc<AppServer>) {
        let server = server.clone();
        let inner = Arc::downgrade(self);
        tokio::spawn(async move {
            let how = server.ended().await;
            let Some(inner) = inner.upgrade() else { return };
            let current =
                matches!(&*lock(&inner.slot), Slot::Ready(live) if Arc::ptr_eq(live, &server));
            // A newer app-server may already be up; only the current one's
            // end changes the state.
            if current {
                let how = how.unwrap_or_else(|| "it closed its output".to_string());
                tracing::warn!(
                    "codex app-server (pid {:?}) exited: {how}; the next run starts a fresh one",
                    server.pid
                );
                inner.set_status(|status| {
                    status.state = BackendState::Exited;
                    status.pid = None;
                    status.last_error = Some(format!("codex app-server exited ({how})"));
                });
            }
        });
    }
}

// A poisoned lock only means another task panicked mid-update of a plain
// value, which stays usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
