//! The one fake `codex app-server` of the tests, the benches and the fuzz
//! targets: newline-delimited JSON-RPC like the real one (its messages
//! carry no `"jsonrpc"` field), driven by a [`Script`].
//!
//! Two forms run the same code:
//! - in-process, over any `AsyncRead`/`AsyncWrite` pair ([`spawn`]): what
//!   the in-process harness's launchers use; a [`FakeHandle`] tells the test
//!   what the client sent;
//! - as a process ([`process`], the `codex-ls-fake-app-server` binary, built
//!   only with the `fuzzing` feature): the real `codex-ls` binary launches
//!   it as its `codexPath`, for what only a process can do (exit with a
//!   status, leave a helper holding its stdout, flood its stderr).
//!
//! Behaviour by default (a [`Rule`] replaces it per method):
//! - with [`Script::transcripts`], it replays turns recorded against the
//!   real server (see [`transcript`]): `initialize` → the first transcript's
//!   result and notifications; `thread/start` → the next unused transcript's
//!   thread (a thread id handed out before gets a `-N` suffix);
//!   `turn/start` → the next transcript's turn part (the last repeats),
//!   played on its own task so client messages are handled while it
//!   streams. Ids are rewritten: the response gets the client's id, the
//!   recorded thread id becomes the client's `threadId`, the recorded turn
//!   id `<recorded>-<counter>`, server→client requests get ids from a
//!   per-connection counter (and `serverRequest/resolved.requestId`
//!   follows). A recorded `turn/interrupt` waits for the client's (also if
//!   it came early); a recorded response to a server request waits for the
//!   client's. An unexpected `turn/interrupt` during a turn → `{}`,
//!   `thread/status/changed` idle, `turn/completed` interrupted, and the
//!   turn stops; one with no turn playing → `{}`.
//! - without transcripts, it is a plain Codex: threads `thread-N`, turns
//!   `turn-N` that stream [`Script::answer`] as one delta and complete (or,
//!   with [`Step::Stream`] and [`Step::Fingerprints`], what the prompt asks
//!   for: see [`prompted`]);
//!   `thread/resume` resumes; `turn/interrupt` → `{}` and, for a turn still
//!   open, `turn/completed` interrupted.
//! - other requests → error `-32601`; notifications, stray responses and
//!   lines that are not JSON objects are ignored. EOF stops the fake.

pub mod process;
pub mod prompted;
pub mod script;
pub mod transcript;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch};

pub use script::{Launch, Rule, Script, Step, USER_AGENT};
pub use transcript::{Entry, Transcript, TranscriptError};

/// Why a fake cannot start.
#[derive(thiserror::Error, Debug)]
pub enum FakeError {
    #[error("this script needs the fake to be a process of its own (spawnHelper, detachOrphan)")]
    NeedsAProcess,
    #[error(transparent)]
    Transcript(#[from] TranscriptError),
    #[error("cannot read the fake's script {path}: {reason}")]
    Script { path: String, reason: String },
}

/// A lock that a panicked holder does not poison for everyone else: the
/// fake's state stays readable for the test that reports the panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Handle on a running fake; cheap to clone.
#[derive(Clone)]
pub struct FakeHandle {
    inner: Arc<Shared>,
}

struct Shared {
    received: Mutex<Vec<Value>>,
    sent: Mutex<Vec<Value>>,
    /// Bumped on every received message and when the fake stops.
    changed: watch::Sender<u64>,
    stopped: AtomicBool,
}

impl FakeHandle {
    /// Every message the client sent, in order (malformed lines excluded).
    pub fn received(&self) -> Vec<Value> {
        lock(&self.inner.received).clone()
    }

    /// Every received message with that method, in order.
    pub fn received_method(&self, method: &str) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|m| m["method"] == method)
            .collect()
    }

    /// Every message the fake wrote, in order.
    pub fn sent(&self) -> Vec<Value> {
        lock(&self.inner.sent).clone()
    }

    /// The first message with `method` the client sent (already or within
    /// `timeout`); `None` on timeout.
    pub async fn wait_received(&self, method: &str, timeout: Duration) -> Option<Value> {
        self.wait_received_nth(method, 0, timeout).await
    }

    /// The `n`-th (0-based) message with `method` the client sent.
    pub async fn wait_received_nth(
        &self,
        method: &str,
        n: usize,
        timeout: Duration,
    ) -> Option<Value> {
        let find = || self.received_method(method).into_iter().nth(n);
        let mut rx = self.inner.changed.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|_| find().is_some())).await;
        find()
    }

    /// Whether the fake has stopped (EOF on its input, or it exited).
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Waits until the fake stops; `false` on timeout.
    pub async fn wait_stopped(&self, timeout: Duration) -> bool {
        let mut rx = self.inner.changed.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|_| self.is_stopped())).await;
        self.is_stopped()
    }
}

/// What the writer task does, in the order the fake decided it: stdout,
/// stderr and process steps stay in order with each other.
enum Out {
    Msg(Value),
    /// A line built by the sender (streamed deltas: not kept in
    /// [`FakeHandle::sent`], so a flood stays cheap).
    Line(String),
    HugeLine(usize),
    Stderr(Vec<u8>),
    StderrFill {
        byte: u8,
        bytes: usize,
    },
    /// A step only a process can take ([`process::run_step`]).
    Process(Step),
    /// Close the output; the process form exits with this status.
    Exit(i32),
}

/// Where the fake runs: in-process (exiting closes the connection) or as
/// its own process (exiting ends it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Host {
    InProcess,
    Process,
}

/// Messages the reader routes to a playing turn.
enum TurnEvent {
    Interrupt { id: Value },
    Response { id: Value },
}

/// A plain (not recorded) turn being handled: its ids and what it streamed.
struct PlainTurn {
    thread: Value,
    turn: String,
    item: String,
    text: String,
}

struct Conn {
    out: mpsc::UnboundedSender<Out>,
    shared: Arc<Shared>,
    script: Script,
    launch: usize,
    turns: Vec<Arc<Transcript>>,
    turns_used: Mutex<usize>,
    turn_counter: AtomicU64,
    thread_counter: AtomicU64,
    server_request_ids: AtomicI64,
    thread_ids_given: Mutex<HashMap<String, usize>>,
    /// Played turns by (rewritten) turn id.
    active: Mutex<Vec<(String, mpsc::UnboundedSender<TurnEvent>)>>,
    /// Plain turns answered but not completed: turn id → thread id.
    open_turns: Mutex<HashMap<String, Value>>,
    /// The `cwd` of each plain thread, for [`Step::Fingerprints`].
    thread_cwds: Mutex<HashMap<String, std::path::PathBuf>>,
    exited: watch::Sender<bool>,
}

impl Conn {
    fn send(&self, msg: Value) {
        lock(&self.shared.sent).push(msg.clone());
        let _ = self.out.send(Out::Msg(msg));
    }

    fn exit(&self, code: i32) {
        let _ = self.out.send(Out::Exit(code));
        let _ = self.exited.send(true);
    }

    fn has_exited(&self) -> bool {
        *self.exited.borrow()
    }
}

/// Starts the fake on the current tokio runtime, in-process; `launch` is
/// which start of the fake this is (0-based, for [`Launch`] rules).
pub fn spawn<R, W>(
    reader: R,
    writer: W,
    script: Script,
    launch: usize,
) -> Result<FakeHandle, FakeError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    if script.needs_a_process() {
        return Err(FakeError::NeedsAProcess);
    }
    let (handle, serving) = serve(reader, writer, None, script, launch, Host::InProcess);
    tokio::spawn(serving);
    Ok(handle)
}

type Stderr = Box<dyn AsyncWrite + Unpin + Send>;

/// The fake over `reader`/`writer` (and `stderr`): its handle, and the
/// future that runs it until EOF or exit, its output flushed.
fn serve<R, W>(
    reader: R,
    writer: W,
    stderr: Option<Stderr>,
    script: Script,
    launch: usize,
    host: Host,
) -> (FakeHandle, impl Future<Output = ()> + Send + 'static)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let shared = Arc::new(Shared {
        received: Mutex::new(Vec::new()),
        sent: Mutex::new(Vec::new()),
        changed: watch::channel(0).0,
        stopped: AtomicBool::new(false),
    });
    let (out_tx, out_rx) = mpsc::unbounded_channel::<Out>();
    let writer = tokio::io::BufWriter::with_capacity(1 << 16, writer);
    let writing = tokio::spawn(write_out(writer, stderr, out_rx, host));
    let (exited_tx, mut exited_rx) = watch::channel(false);
    let turns = script.transcripts.iter().cloned().map(Arc::new).collect();
    let conn = Arc::new(Conn {
        out: out_tx,
        shared: shared.clone(),
        script,
        launch,
        turns,
        turns_used: Mutex::new(0),
        turn_counter: AtomicU64::new(0),
        thread_counter: AtomicU64::new(0),
        server_request_ids: AtomicI64::new(0),
        thread_ids_given: Mutex::new(HashMap::new()),
        active: Mutex::new(Vec::new()),
        open_turns: Mutex::new(HashMap::new()),
        thread_cwds: Mutex::new(HashMap::new()),
        exited: exited_tx,
    });
    let handle = FakeHandle {
        inner: shared.clone(),
    };
    let serving = async move {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = tokio::select! {
                _ = exited_rx.wait_for(|exited| *exited) => break,
                read = reader.read_until(b'\n', &mut line) => read,
            };
            if !matches!(read, Ok(n) if n > 0) {
                break;
            }
            let Ok(msg) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            if !msg.is_object() {
                continue;
            }
            lock(&shared.received).push(msg.clone());
            shared.changed.send_modify(|n| *n += 1);
            handle_client_message(&conn, msg);
        }
        // Stop every playing turn; the writer ends once all senders are gone.
        lock(&conn.active).clear();
        drop(conn);
        let _ = writing.await;
        shared.stopped.store(true, Ordering::SeqCst);
        shared.changed.send_modify(|n| *n += 1);
    };
    (handle, serving)
}

/// The writer task: every output of the fake, in order.
async fn write_out<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut stderr: Option<Stderr>,
    mut out_rx: mpsc::UnboundedReceiver<Out>,
    host: Host,
) {
    while let Some(out) = out_rx.recv().await {
        let written = match out {
            Out::Msg(v) => {
                let mut line = serde_json::to_vec(&v).unwrap_or_default();
                line.push(b'\n');
                writer.write_all(&line).await
            }
            Out::Line(mut line) => {
                line.push('\n');
                writer.write_all(line.as_bytes()).await
            }
            Out::HugeLine(bytes) => {
                let head = br#"{"method": "x/huge", "params": {"blob": ""#;
                let mut result = writer.write_all(head).await;
                if result.is_ok() {
                    result = write_repeated(&mut writer, b'x', bytes).await;
                }
                match result {
                    Ok(()) => writer.write_all(b"\"}}\n").await,
                    err => err,
                }
            }
            Out::Stderr(bytes) => match stderr.as_mut() {
                Some(stderr) => stderr.write_all(&bytes).await,
                None => Ok(()),
            },
            Out::StderrFill { byte, bytes } => match stderr.as_mut() {
                Some(stderr) => write_repeated(stderr, byte, bytes).await,
                None => Ok(()),
            },
            Out::Process(step) => {
                // What the fake wrote so far is out before a helper
                // inherits its stdout.
                let _ = writer.flush().await;
                process::run_step(&step).await;
                Ok(())
            }
            Out::Exit(code) => {
                let _ = writer.flush().await;
                // In-process, the shutdown below closes the connection.
                if let Some(stderr) = stderr.as_mut() {
                    let _ = stderr.flush().await;
                }
                if host == Host::Process {
                    std::process::exit(code);
                }
                let _ = writer.shutdown().await;
                break;
            }
        };
        // Flushed once nothing more is queued: a flood goes out in large
        // writes, a lone message at once.
        if written.is_err() || (out_rx.is_empty() && writer.flush().await.is_err()) {
            break;
        }
    }
    // Dropping `writer` closes the connection.
}

/// `bytes` copies of `byte`, written 1 MiB at a time so the fake itself
/// stays small however much it writes.
async fn write_repeated<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    byte: u8,
    bytes: usize,
) -> std::io::Result<()> {
    const MIB: usize = 1 << 20;
    let chunk = vec![byte; bytes.min(MIB)];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(MIB);
        writer.write_all(&chunk[..n]).await?;
        left -= n;
    }
    Ok(())
}

fn handle_client_message(conn: &Arc<Conn>, msg: Value) {
    let id = msg.get("id").cloned();
    let Some(method) = msg.get("method").and_then(Value::as_str) else {
        // A response (to a server request): route to the playing turns.
        if let Some(id) = id {
            for (_, tx) in lock(&conn.active).iter() {
                let _ = tx.send(TurnEvent::Response { id: id.clone() });
            }
        }
        return;
    };
    let Some(id) = id else { return }; // notifications (incl. `initialized`) are ignored
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    let mut plain_turn = None;
    for step in conn.script.steps_for(method, conn.launch) {
        if conn.has_exited() {
            return;
        }
        match step {
            Step::Answer => answer(conn, method, &id, &params, &mut plain_turn),
            Step::AnswerWith { result } => conn.send(json!({"id": id, "result": result})),
            Step::Error { code, message } => {
                conn.send(json!({"id": id, "error": {"code": code, "message": message}}));
            }
            Step::Delta { text } => {
                let turn = plain_turn.get_or_insert_with(|| new_plain_turn(conn, &params));
                send_delta(conn, turn, text);
            }
            Step::Fingerprints => {
                let turn = plain_turn.get_or_insert_with(|| new_plain_turn(conn, &params));
                let cwd = turn
                    .thread
                    .as_str()
                    .and_then(|thread| lock(&conn.thread_cwds).get(thread).cloned())
                    .unwrap_or_default();
                let text = prompted::attachments_fingerprint(&params["input"], &cwd);
                send_delta(conn, turn, text);
            }
            Step::Stream => {
                let prompt = prompted::prompt_text(&params["input"]);
                if let Some(spec) = prompted::StreamSpec::parse(prompt) {
                    let turn = plain_turn
                        .take()
                        .unwrap_or_else(|| new_plain_turn(conn, &params));
                    let conn = conn.clone();
                    // A thread of its own: paced in µs, which tokio's 1 ms
                    // timer cannot do, while the reader goes on.
                    std::thread::spawn(move || stream_turn(&conn, turn, &spec));
                    return;
                }
            }
            Step::Complete => {
                let turn = plain_turn.get_or_insert_with(|| new_plain_turn(conn, &params));
                complete_plain_turn(conn, turn);
            }
            Step::Send { message } => conn.send(message),
            Step::HugeLine { bytes } => {
                let _ = conn.out.send(Out::HugeLine(bytes));
            }
            Step::StderrFill {
                byte,
                bytes,
                newline,
            } => {
                let _ = conn.out.send(Out::StderrFill { byte, bytes });
                if newline {
                    let _ = conn.out.send(Out::Stderr(b"\n".to_vec()));
                }
            }
            Step::StderrBytes { bytes } => {
                let _ = conn.out.send(Out::Stderr(bytes));
            }
            step @ (Step::SpawnHelper { .. } | Step::DetachOrphan { .. }) => {
                let _ = conn.out.send(Out::Process(step));
            }
            Step::Exit { code } => conn.exit(code),
        }
    }
}

fn send_delta(conn: &Conn, turn: &mut PlainTurn, text: String) {
    conn.send(json!({"method": "item/agentMessage/delta", "params": {
        "threadId": turn.thread, "turnId": turn.turn, "itemId": turn.item,
        "delta": text}}));
    turn.text.push_str(&text);
}

/// Streams `turn` as `spec` says, then completes it once the gate opens
/// (or after a minute, so a client that gave up does not leave it behind).
fn stream_turn(conn: &Conn, mut turn: PlainTurn, spec: &prompted::StreamSpec) {
    let start = std::time::Instant::now();
    // The thread id as JSON, built once: the lines are built by hand so the
    // timestamp is taken right before the line goes to the writer.
    let thread = turn.thread.to_string();
    let command = format!("cmd-{}", turn.turn);
    if spec.output {
        conn.send(json!({"method": "item/started", "params": {
            "threadId": turn.thread, "turnId": turn.turn, "item": {
                "type": "commandExecution", "id": command, "command": "cargo build",
                "cwd": "/", "commandActions": [], "status": "inProgress"}}}));
    }
    for seq in 0..spec.count {
        if spec.gap_us > 0 {
            let due = start + Duration::from_micros(spec.gap_us * seq as u64);
            let now = std::time::Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        let delta = format!("{seq}:{};", prompted::mono_ns());
        let line = format!(
            r#"{{"method":"item/agentMessage/delta","params":{{"threadId":{thread},"turnId":"{}","itemId":"{}","delta":"{delta}"}}}}"#,
            turn.turn, turn.item
        );
        if conn.out.send(Out::Line(line)).is_err() {
            return;
        }
        turn.text.push_str(&delta);
        if spec.output {
            let output = json!({"method": "item/commandExecution/outputDelta", "params": {
                "threadId": turn.thread, "turnId": turn.turn, "itemId": command,
                "delta": prompted::output_line(seq)}});
            if conn.out.send(Out::Line(output.to_string())).is_err() {
                return;
            }
        }
    }
    if spec.output {
        conn.send(json!({"method": "item/completed", "params": {
            "threadId": turn.thread, "turnId": turn.turn, "item": {
                "type": "commandExecution", "id": command, "command": "cargo build",
                "cwd": "/", "commandActions": [], "status": "completed", "exitCode": 0}}}));
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !spec.gate.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    complete_plain_turn(conn, &turn);
}

/// A plain turn for a `turn/start` with `params`, fresh ids.
fn new_plain_turn(conn: &Conn, params: &Value) -> PlainTurn {
    let n = conn.turn_counter.fetch_add(1, Ordering::SeqCst) + 1;
    PlainTurn {
        thread: params["threadId"].clone(),
        turn: format!("turn-{n}"),
        item: format!("item-{n}"),
        text: String::new(),
    }
}

fn complete_plain_turn(conn: &Conn, turn: &PlainTurn) {
    lock(&conn.open_turns).remove(&turn.turn);
    let item = json!({"type": "agentMessage", "id": turn.item, "text": turn.text});
    conn.send(json!({"method": "item/completed", "params": {
        "threadId": turn.thread, "turnId": turn.turn, "item": item}}));
    conn.send(
        json!({"method": "turn/completed", "params": {"threadId": turn.thread, "turn": {
        "id": turn.turn, "status": "completed", "error": null, "items": [item]}}}),
    );
}

/// The real server's answer to `method`: from the transcripts if any, else
/// a plain one.
fn answer(
    conn: &Arc<Conn>,
    method: &str,
    id: &Value,
    params: &Value,
    plain_turn: &mut Option<PlainTurn>,
) {
    if conn.turns.is_empty() {
        plain_answer(conn, method, id, params, plain_turn);
    } else {
        recorded_answer(conn, method, id.clone(), params);
    }
}

fn method_not_found(conn: &Conn, id: &Value, method: &str) {
    conn.send(json!({
        "id": id,
        "error": {"code": -32601, "message": format!("method not found: {method}")}
    }));
}

fn plain_answer(
    conn: &Conn,
    method: &str,
    id: &Value,
    params: &Value,
    plain_turn: &mut Option<PlainTurn>,
) {
    match method {
        "initialize" => conn.send(json!({"id": id, "result": {
            "userAgent": conn.script.user_agent, "codexHome": "/tmp",
            "platformFamily": "unix", "platformOs": "linux"}})),
        "thread/start" => {
            let n = conn.thread_counter.fetch_add(1, Ordering::SeqCst) + 1;
            let thread = format!("thread-{n}");
            if let Some(cwd) = params["cwd"].as_str() {
                lock(&conn.thread_cwds).insert(thread.clone(), cwd.into());
            }
            conn.send(json!({"id": id, "result": {"thread": {"id": thread}}}));
        }
        "thread/resume" => {
            conn.send(json!({"id": id, "result": {"thread": {"id": params["threadId"]}}}));
        }
        "turn/start" => {
            let turn = plain_turn.get_or_insert_with(|| new_plain_turn(conn, params));
            lock(&conn.open_turns).insert(turn.turn.clone(), turn.thread.clone());
            let started = json!({
                "id": turn.turn, "status": "inProgress", "items": [], "error": null});
            conn.send(json!({"id": id, "result": {"turn": started}}));
            conn.send(json!({"method": "turn/started", "params": {
                "threadId": turn.thread, "turn": started}}));
        }
        "turn/interrupt" => {
            conn.send(json!({"id": id, "result": {}}));
            let turn = params["turnId"].as_str().unwrap_or_default();
            if let Some(thread) = lock(&conn.open_turns).remove(turn) {
                conn.send(json!({"method": "turn/completed", "params": {
                    "threadId": thread, "turn": {
                        "id": turn, "status": "interrupted", "error": null, "items": []}}}));
            }
        }
        other => method_not_found(conn, id, other),
    }
}

fn recorded_answer(conn: &Arc<Conn>, method: &str, id: Value, params: &Value) {
    let last = conn.turns.len().saturating_sub(1);
    match method {
        "initialize" => {
            let Some(t) = conn.turns.first() else { return };
            conn.send(json!({"id": id, "result": t.initialize_result}));
            for n in &t.init_notifications {
                conn.send(n.clone());
            }
        }
        "thread/start" => {
            let used = *lock(&conn.turns_used);
            let Some(t) = conn.turns.get(used.min(last)).cloned() else {
                return;
            };
            let recorded = t.thread_id.clone();
            let n = {
                let mut given = lock(&conn.thread_ids_given);
                let n = given.entry(recorded.clone()).or_insert(0);
                *n += 1;
                *n
            };
            let new_id = if n == 1 {
                recorded.clone()
            } else {
                format!("{recorded}-{n}")
            };
            let result = replace_strings(
                &t.thread_start_result,
                &[(recorded.as_str(), new_id.as_str())],
            );
            conn.send(json!({"id": id, "result": result}));
            if let Some(started) = &t.thread_started {
                conn.send(replace_strings(
                    started,
                    &[(recorded.as_str(), new_id.as_str())],
                ));
            }
        }
        "turn/start" => {
            let t = {
                let mut used = lock(&conn.turns_used);
                let t = conn.turns.get((*used).min(last)).cloned();
                *used += 1;
                t
            };
            let Some(t) = t else { return };
            let thread_id = params["threadId"]
                .as_str()
                .unwrap_or(&t.thread_id)
                .to_string();
            let n = conn.turn_counter.fetch_add(1, Ordering::SeqCst) + 1;
            let turn_id = format!("{}-{n}", t.turn_id);
            let (tx, rx) = mpsc::unbounded_channel();
            lock(&conn.active).push((turn_id.clone(), tx));
            let conn = conn.clone();
            tokio::spawn(async move {
                play_turn(&conn, &t, id, &thread_id, &turn_id, rx).await;
                lock(&conn.active).retain(|(tid, _)| *tid != turn_id);
            });
        }
        "turn/interrupt" => {
            let wanted = params["turnId"].as_str();
            let target = lock(&conn.active)
                .iter()
                .rev()
                .find(|(tid, _)| wanted.is_none() || wanted == Some(tid.as_str()))
                .map(|(_, tx)| tx.clone());
            match target {
                Some(tx) if tx.send(TurnEvent::Interrupt { id: id.clone() }).is_ok() => {}
                _ => conn.send(json!({"id": id, "result": {}})),
            }
        }
        other => method_not_found(conn, &id, other),
    }
}

/// Replaces substrings in every string (values and keys) of `v`.
fn replace_strings(v: &Value, pairs: &[(&str, &str)]) -> Value {
    let fix = |s: &str| {
        let mut s = s.to_string();
        for (from, to) in pairs {
            if !from.is_empty() && from != to && s.contains(from) {
                s = s.replace(from, to);
            }
        }
        s
    };
    match v {
        Value::String(s) => Value::String(fix(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| replace_strings(x, pairs)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (fix(k), replace_strings(x, pairs)))
                .collect(),
        ),
        other => other.clone(),
    }
}

async fn play_turn(
    conn: &Conn,
    t: &Transcript,
    client_id: Value,
    thread_id: &str,
    turn_id: &str,
    mut events: mpsc::UnboundedReceiver<TurnEvent>,
) {
    let pairs = [
        (t.thread_id.as_str(), thread_id),
        (t.turn_id.as_str(), turn_id),
    ];
    // recorded id → client id (turn/start, turn/interrupt responses)
    let mut response_ids: HashMap<Value, Value> = HashMap::new();
    response_ids.insert(t.turn_start_request_id.clone(), client_id.clone());
    // recorded server-request id → fresh id
    let mut server_ids: HashMap<Value, Value> = HashMap::new();
    let mut pending_interrupts: Vec<Value> = Vec::new();
    let mut responses_seen: HashSet<Value> = HashSet::new();
    let mut sent = 0usize;
    let mut response_sent = false;
    let mut prev_t = t.turn_start_t;
    let started_turn = t
        .turn_part
        .iter()
        .find(|e| {
            e.from_server
                && e.msg.get("method").is_none()
                && e.msg.get("id") == Some(&t.turn_start_request_id)
        })
        .map(|e| replace_strings(&e.msg["result"]["turn"], &pairs))
        .unwrap_or_else(|| json!({"id": turn_id}));

    // Sends a message; returns false when the simulated crash happened.
    let emit = |msg: Value, sent: &mut usize| -> bool {
        conn.send(msg);
        *sent += 1;
        if conn
            .script
            .crash_after_turn_messages
            .is_some_and(|n| *sent >= n)
        {
            conn.exit(1);
            return false;
        }
        true
    };

    for (idx, entry) in t.turn_part.iter().enumerate() {
        let expects_interrupt_later = t.turn_part[idx..]
            .iter()
            .any(|e| !e.from_server && e.msg["method"] == "turn/interrupt");

        // Honour the recorded gap, handling client messages meanwhile.
        let gap = ((entry.t - prev_t) * conn.script.speed).max(0.0);
        prev_t = entry.t;
        let sleep = tokio::time::sleep(Duration::from_secs_f64(gap));
        tokio::pin!(sleep);
        // What to wait for at a recorded client message.
        let wait_for_interrupt = !entry.from_server && entry.msg["method"] == "turn/interrupt";
        let wait_for_response = (!entry.from_server && entry.msg.get("method").is_none())
            .then(|| {
                entry
                    .msg
                    .get("id")
                    .and_then(|id| server_ids.get(id))
                    .cloned()
            })
            .flatten();
        loop {
            let ready = if entry.from_server {
                sleep.is_elapsed()
            } else if wait_for_interrupt {
                !pending_interrupts.is_empty()
            } else if let Some(id) = &wait_for_response {
                responses_seen.contains(id)
            } else {
                true
            };
            if ready {
                break;
            }
            let event = tokio::select! {
                _ = &mut sleep, if entry.from_server => continue,
                ev = events.recv() => ev,
            };
            match event {
                None => return, // connection gone
                Some(TurnEvent::Response { id }) => {
                    responses_seen.insert(id);
                }
                Some(TurnEvent::Interrupt { id }) => {
                    if expects_interrupt_later {
                        pending_interrupts.push(id);
                    } else {
                        // Unexpected interrupt: finish the turn as the real server does.
                        if !response_sent {
                            let resp = json!({"id": client_id, "result": {"turn": started_turn}});
                            if !emit(resp, &mut sent) {
                                return;
                            }
                        }
                        let mut turn = started_turn.clone();
                        turn["status"] = json!("interrupted");
                        turn["error"] = Value::Null;
                        turn["items"] = json!([]);
                        for msg in [
                            json!({"id": id, "result": {}}),
                            json!({"method": "thread/status/changed",
                                   "params": {"threadId": thread_id, "status": {"type": "idle"}}}),
                            json!({"method": "turn/completed",
                                   "params": {"threadId": thread_id, "turn": turn}}),
                        ] {
                            if !emit(msg, &mut sent) {
                                return;
                            }
                        }
                        return;
                    }
                }
            }
        }

        if !entry.from_server {
            if wait_for_interrupt {
                let client = pending_interrupts.remove(0);
                if let Some(rec) = entry.msg.get("id") {
                    response_ids.insert(rec.clone(), client);
                }
            }
            continue;
        }

        let mut msg = replace_strings(&entry.msg, &pairs);
        let is_response = msg.get("method").is_none();
        if let Some(rec_id) = entry.msg.get("id").cloned() {
            if is_response {
                if rec_id == t.turn_start_request_id {
                    response_sent = true;
                }
                match response_ids.get(&rec_id) {
                    Some(client) => msg["id"] = client.clone(),
                    None => continue, // a response to something this client never asked
                }
            } else {
                let fresh = json!(conn.server_request_ids.fetch_add(1, Ordering::SeqCst));
                server_ids.insert(rec_id, fresh.clone());
                msg["id"] = fresh;
            }
        }
        if msg["method"] == "serverRequest/resolved"
            && let Some(fresh) = msg["params"]
                .get("requestId")
                .and_then(|r| server_ids.get(r))
                .cloned()
        {
            msg["params"]["requestId"] = fresh;
        }
        let done = msg["method"] == "turn/completed";
        if !emit(msg, &mut sent) || done {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

    use super::*;

    const WAIT: Duration = Duration::from_secs(10);

    /// A client end of a fake started with `script` (launch 0).
    struct Client {
        to_fake: tokio::io::WriteHalf<DuplexStream>,
        from_fake: Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
        fake: FakeHandle,
    }

    impl Client {
        fn start(script: Script) -> Client {
            let (ours, theirs) = tokio::io::duplex(1 << 16);
            let (fake_read, fake_write) = tokio::io::split(theirs);
            let fake = spawn(fake_read, fake_write, script, 0).unwrap();
            let (read, to_fake) = tokio::io::split(ours);
            Client {
                to_fake,
                from_fake: BufReader::new(read).lines(),
                fake,
            }
        }

        async fn send(&mut self, msg: Value) {
            let line = format!("{msg}\n");
            self.to_fake.write_all(line.as_bytes()).await.unwrap();
        }

        /// The next line, `None` once the fake closed its output.
        async fn next(&mut self) -> Option<Value> {
            let line = tokio::time::timeout(WAIT, self.from_fake.next_line())
                .await
                .unwrap()
                .unwrap()?;
            Some(serde_json::from_str(&line).unwrap())
        }
    }

    #[tokio::test]
    async fn a_plain_fake_answers_the_handshake_and_streams_its_answer() {
        let mut client = Client::start(Script::answering("Fine."));
        client.send(json!({"id": 1, "method": "initialize"})).await;
        assert_eq!(
            client.next().await.unwrap()["result"]["userAgent"],
            USER_AGENT
        );
        client
            .send(json!({"id": 2, "method": "thread/start"}))
            .await;
        assert_eq!(
            client.next().await.unwrap()["result"]["thread"]["id"],
            "thread-1"
        );
        client
            .send(json!({"id": 3, "method": "turn/start", "params": {"threadId": "thread-1"}}))
            .await;
        let started = client.next().await.unwrap();
        assert_eq!(started["id"], 3);
        assert_eq!(client.next().await.unwrap()["method"], "turn/started");
        let delta = client.next().await.unwrap();
        assert_eq!(delta["params"]["delta"], "Fine.");
        assert_eq!(delta["params"]["threadId"], "thread-1");
        assert_eq!(client.next().await.unwrap()["method"], "item/completed");
        let completed = client.next().await.unwrap();
        assert_eq!(completed["params"]["turn"]["items"][0]["text"], "Fine.");
        client.send(json!({"id": 4, "method": "model/list"})).await;
        assert_eq!(client.next().await.unwrap()["error"]["code"], -32601);
        assert_eq!(client.fake.received_method("turn/start").len(), 1);
    }

    #[tokio::test]
    async fn a_held_turn_is_interrupted_and_an_exit_closes_the_output() {
        let script = Script::default()
            .on("turn/start", vec![Step::Answer])
            .on(
                "thread/start",
                vec![Step::Error {
                    code: -32000,
                    message: "no".into(),
                }],
            )
            .on("initialize", vec![Step::Exit { code: 3 }]);
        let mut client = Client::start(script);
        client
            .send(json!({"id": 1, "method": "thread/start"}))
            .await;
        assert_eq!(client.next().await.unwrap()["error"]["message"], "no");
        client
            .send(json!({"id": 2, "method": "turn/start", "params": {"threadId": "t"}}))
            .await;
        let turn = client.next().await.unwrap()["result"]["turn"]["id"].clone();
        assert_eq!(client.next().await.unwrap()["method"], "turn/started");
        client
            .send(json!({"id": 3, "method": "turn/interrupt",
                         "params": {"threadId": "t", "turnId": turn}}))
            .await;
        assert_eq!(client.next().await.unwrap()["id"], 3);
        let completed = client.next().await.unwrap();
        assert_eq!(completed["params"]["turn"]["status"], "interrupted");
        client.send(json!({"id": 4, "method": "initialize"})).await;
        assert_eq!(client.next().await, None, "the fake exited");
        assert!(client.fake.wait_stopped(WAIT).await);
    }

    #[tokio::test]
    async fn a_recorded_transcript_is_played_with_the_clients_ids() {
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/transcript-ok.jsonl"
        );
        let recorded = Transcript::from_file(fixture).unwrap();
        let mut client = Client::start(Script::playing(vec![recorded.clone()]));
        client.send(json!({"id": 7, "method": "initialize"})).await;
        let init = client.next().await.unwrap();
        assert_eq!(init["id"], 7);
        assert_eq!(init["result"], recorded.initialize_result);
        assert!(
            !Script::default().needs_a_process()
                && spawn(
                    tokio::io::empty(),
                    tokio::io::sink(),
                    Script::default().on(
                        "initialize",
                        vec![Step::SpawnHelper {
                            pid_file: "/nonexistent".into()
                        }]
                    ),
                    0
                )
                .is_err(),
            "process-only steps are refused in-process"
        );
    }
}
