#![allow(dead_code)]
//! An in-process fake `codex app-server` that replays recorded transcripts.
//!
//! The real `codex app-server` speaks newline-delimited JSON-RPC on stdio (its
//! own messages carry no `"jsonrpc"` field). This fake speaks the same over any
//! `AsyncRead`/`AsyncWrite` pair (e.g. `tokio::io::duplex`) and answers from
//! transcripts recorded against the real server (see
//! `codex-app-server/transcripts/*.jsonl`: one `{"t", "dir", "msg"}` object per
//! line, `dir` is `">"` client→server, `"<"` server→client or `"summary"`).
//!
//! A [`Transcript`] is split into three parts:
//! - the *initialize part*: the `initialize` result and the server
//!   notifications recorded after it and before the `thread/start` result
//!   (`configWarning`, `remoteControl/status/changed`);
//! - the *thread part*: the `thread/start` result and `thread/started`;
//! - the *turn part*: every recorded message after the client's `turn/start`
//!   request up to and including `turn/completed` (minus `thread/started`).
//!   This includes the `turn/start` response and any notification the real
//!   server sent before it (e.g. the `warning` about unknown model metadata),
//!   and the client messages (`turn/interrupt`, approval responses) that the
//!   playback waits for.
//!
//! Behaviour (driven by what the client sends):
//! - `initialize` → initialize result of the first transcript (client's id) +
//!   the initialize-part notifications. `initialized` → nothing.
//! - `thread/start` → thread/start result of the next unused transcript (the
//!   last if all are used) + `thread/started`. A thread id handed out before
//!   gets a `-N` suffix so threads stay distinct.
//! - `turn/start` → plays the turn part of the next transcript (repeats the last
//!   when exhausted) in its own task, so client messages are handled while it
//!   streams. Ids are rewritten: the response gets the client's id, the
//!   recorded thread id becomes the client's `threadId`, the recorded turn id
//!   becomes `<recorded>-<counter>`, server→client request ids come from a
//!   per-connection counter (and `serverRequest/resolved.requestId` follows).
//! - a recorded `turn/interrupt` waits for the client's `turn/interrupt`
//!   (also if it arrived early) and answers it with the client's id; a recorded
//!   response to a server request waits for the client's response to it.
//! - an unexpected `turn/interrupt` during a turn → `{}`, `thread/status/changed`
//!   idle, `turn/completed` `{status: "interrupted", error: null, items: []}`,
//!   and the turn stops. A `turn/interrupt` with no matching active turn → `{}`.
//! - other requests → `{"id", "error": {"code": -32601, "message": "method not found: X"}}`;
//!   other notifications, stray responses and malformed lines are ignored.
//! - EOF on the reader stops the fake. With `crash_after_turn_messages: Some(n)`
//!   the fake closes its output and stops reading after a turn part sent n
//!   messages.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch};

/// One recorded message.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Seconds since the start of the recording.
    pub t: f64,
    /// `true` for server→client (`"<"`), `false` for client→server (`">"`).
    pub from_server: bool,
    pub msg: Value,
}

/// A parsed transcript.
#[derive(Clone, Debug)]
pub struct Transcript {
    /// The recorded `result` of `initialize`.
    pub initialize_result: Value,
    /// Server notifications after the initialize response and before the
    /// thread/start response (configWarning, remoteControl/status/changed).
    pub init_notifications: Vec<Value>,
    /// The recorded `result` of `thread/start` (`{thread: {...}}`).
    pub thread_start_result: Value,
    /// The recorded `thread/started` notification, if any.
    pub thread_started: Option<Value>,
    /// The recorded thread id (from the thread/start result).
    pub thread_id: String,
    /// The recorded turn id (from the turn/start response).
    pub turn_id: String,
    /// The recorded id of the client's `turn/start` request.
    pub turn_start_request_id: Value,
    /// Time of the client's `turn/start` request.
    pub turn_start_t: f64,
    /// Every message after the `turn/start` request up to `turn/completed`.
    pub turn_part: Vec<Entry>,
    /// The `summary` line, if present.
    pub summary: Option<Value>,
}

impl Transcript {
    /// Parses a transcript (one JSON object per line). Panics on a transcript
    /// without initialize / thread/start / turn/start exchanges.
    pub fn parse(jsonl: &str) -> Transcript {
        let mut entries = Vec::new();
        let mut summary = None;
        for line in jsonl.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("transcript line is not JSON ({e}): {line}"));
            let dir = v["dir"].as_str().unwrap_or("");
            let t = v["t"].as_f64().unwrap_or(0.0);
            match dir {
                "summary" => summary = Some(v["msg"].clone()),
                "<" | ">" => entries.push(Entry {
                    t,
                    from_server: dir == "<",
                    msg: v["msg"].clone(),
                }),
                _ => {}
            }
        }

        let request_id = |method: &str| -> Option<(usize, Value)> {
            entries.iter().enumerate().find_map(|(i, e)| {
                (!e.from_server && e.msg["method"] == method && e.msg.get("id").is_some())
                    .then(|| (i, e.msg["id"].clone()))
            })
        };
        let response_to = |id: &Value, after: usize| -> Option<usize> {
            entries
                .iter()
                .enumerate()
                .skip(after + 1)
                .find_map(|(i, e)| {
                    (e.from_server && e.msg.get("method").is_none() && e.msg.get("id") == Some(id))
                        .then_some(i)
                })
        };

        let (init_req, init_id) =
            request_id("initialize").expect("transcript: no initialize request");
        let init_resp =
            response_to(&init_id, init_req).expect("transcript: no initialize response");
        let (ts_req, ts_id) =
            request_id("thread/start").expect("transcript: no thread/start request");
        let ts_resp = response_to(&ts_id, ts_req).expect("transcript: no thread/start response");
        let (turn_req, turn_req_id) =
            request_id("turn/start").expect("transcript: no turn/start request");
        let turn_resp =
            response_to(&turn_req_id, turn_req).expect("transcript: no turn/start response");

        let initialize_result = entries[init_resp].msg["result"].clone();
        let thread_start_result = entries[ts_resp].msg["result"].clone();
        let thread_id = thread_start_result["thread"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let turn_id = entries[turn_resp].msg["result"]["turn"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();

        let is_notification = |e: &Entry| e.from_server && e.msg.get("id").is_none();
        let init_notifications = entries
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                *i > init_resp
                    && *i < ts_resp
                    && is_notification(e)
                    && e.msg["method"] != "thread/started"
            })
            .map(|(_, e)| e.msg.clone())
            .collect();
        let thread_started = entries
            .iter()
            .find(|e| is_notification(e) && e.msg["method"] == "thread/started")
            .map(|e| e.msg.clone());

        let mut turn_part = Vec::new();
        for (i, e) in entries.iter().enumerate().skip(turn_req + 1) {
            if i == ts_resp || (is_notification(e) && e.msg["method"] == "thread/started") {
                continue;
            }
            if i < ts_resp && is_notification(e) {
                // Recorded before the thread existed: belongs to initialize.
                continue;
            }
            turn_part.push(e.clone());
            if e.from_server && e.msg["method"] == "turn/completed" {
                break;
            }
        }

        Transcript {
            initialize_result,
            init_notifications,
            thread_start_result,
            thread_started,
            thread_id,
            turn_id,
            turn_start_request_id: turn_req_id,
            turn_start_t: entries[turn_req].t,
            turn_part,
            summary,
        }
    }

    /// Reads and parses a transcript file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Transcript {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read transcript {}: {e}", path.display()));
        Transcript::parse(&text)
    }

    /// The same turn with the agent answering `text` instead, streamed as
    /// one delta: for structured answers (edits, reviews) in tests.
    pub fn with_answer(&self, text: &str) -> Transcript {
        let mut transcript = self.clone();
        let mut delta_seen = false;
        transcript.turn_part.retain_mut(|entry| {
            let method = entry.msg["method"].as_str().unwrap_or("").to_string();
            match method.as_str() {
                "item/agentMessage/delta" => {
                    if delta_seen {
                        return false;
                    }
                    delta_seen = true;
                    entry.msg["params"]["delta"] = json!(text);
                }
                "item/completed" if entry.msg["params"]["item"]["type"] == "agentMessage" => {
                    entry.msg["params"]["item"]["text"] = json!(text);
                }
                "turn/completed" => {
                    if let Some(items) = entry.msg["params"]["turn"]["items"].as_array_mut() {
                        for item in items.iter_mut().filter(|i| i["type"] == "agentMessage") {
                            item["text"] = json!(text);
                        }
                    }
                }
                _ => {}
            }
            true
        });
        if let Some(summary) = transcript.summary.as_mut() {
            summary["assistant_text"] = json!(text);
        }
        transcript
    }

    /// The same turn with a completed `fileChange` item (the agent changed
    /// files) sent before `turn/completed`.
    pub fn with_file_change(&self, changes: Value) -> Transcript {
        let mut transcript = self.clone();
        let at = transcript
            .turn_part
            .iter()
            .position(|e| e.from_server && e.msg["method"] == "turn/completed")
            .expect("a turn/completed");
        let t = transcript.turn_part[at].t;
        let item = json!({"type": "fileChange", "id": "call_patch_1", "changes": changes, "status": "completed"});
        let params =
            json!({"item": item, "threadId": transcript.thread_id, "turnId": transcript.turn_id});
        for (offset, method) in ["item/started", "item/completed"].iter().enumerate() {
            let mut msg = json!({"method": method, "params": params.clone()});
            if *method == "item/started" {
                msg["params"]["item"]["status"] = json!("inProgress");
            }
            transcript.turn_part.insert(
                at + offset,
                Entry {
                    t,
                    from_server: true,
                    msg,
                },
            );
        }
        transcript
    }

    /// `summary.assistant_text` (concatenation of all agent message deltas).
    pub fn assistant_text(&self) -> Option<String> {
        self.summary
            .as_ref()?
            .get("assistant_text")?
            .as_str()
            .map(str::to_string)
    }

    /// The recorded final `turn` object of `turn/completed`.
    pub fn completed_turn(&self) -> Option<&Value> {
        self.turn_part
            .iter()
            .find(|e| e.from_server && e.msg["method"] == "turn/completed")
            .map(|e| &e.msg["params"]["turn"])
    }

    /// Methods of the server notifications in the turn part, in order.
    pub fn turn_methods(&self) -> Vec<String> {
        self.turn_part
            .iter()
            .filter(|e| e.from_server)
            .filter_map(|e| e.msg["method"].as_str().map(str::to_string))
            .collect()
    }
}

/// Options of the fake.
#[derive(Clone, Debug, Default)]
pub struct FakeOptions {
    /// Multiplier of the recorded gaps between turn-part messages: 0.0 sends
    /// as fast as possible, 1.0 honours the recording.
    pub speed: f64,
    /// After a turn part sent this many messages, close the output and stop
    /// reading (simulated crash).
    pub crash_after_turn_messages: Option<usize>,
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
        self.inner.received.lock().unwrap().clone()
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
        self.inner.sent.lock().unwrap().clone()
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

    /// Whether the fake has stopped (EOF on its input or simulated crash).
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

enum Out {
    Msg(Value),
    Close,
}

/// Messages the reader routes to a playing turn.
enum TurnEvent {
    Interrupt { id: Value },
    Response { id: Value },
}

struct Conn {
    out: mpsc::UnboundedSender<Out>,
    shared: Arc<Shared>,
    turns: Vec<Arc<Transcript>>,
    opts: FakeOptions,
    turns_used: Mutex<usize>,
    turn_counter: AtomicU64,
    server_request_ids: AtomicI64,
    thread_ids_given: Mutex<HashMap<String, usize>>,
    /// Active turns by (rewritten) turn id.
    active: Mutex<Vec<(String, mpsc::UnboundedSender<TurnEvent>)>>,
    crash: watch::Sender<bool>,
}

impl Conn {
    fn send(&self, msg: Value) {
        self.shared.sent.lock().unwrap().push(msg.clone());
        let _ = self.out.send(Out::Msg(msg));
    }

    fn crash(&self) {
        let _ = self.out.send(Out::Close);
        let _ = self.crash.send(true);
    }
}

/// Spawns the fake on the current tokio runtime. `turns` must not be empty.
pub fn spawn_fake_app_server<R, W>(
    reader: R,
    writer: W,
    turns: Vec<Transcript>,
    opts: FakeOptions,
) -> FakeHandle
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    assert!(
        !turns.is_empty(),
        "spawn_fake_app_server needs at least one transcript"
    );
    let shared = Arc::new(Shared {
        received: Mutex::new(Vec::new()),
        sent: Mutex::new(Vec::new()),
        changed: watch::channel(0).0,
        stopped: AtomicBool::new(false),
    });
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Out>();
    tokio::spawn(async move {
        let mut writer = writer;
        while let Some(out) = out_rx.recv().await {
            match out {
                Out::Msg(v) => {
                    let mut line = serde_json::to_vec(&v).expect("serialize");
                    line.push(b'\n');
                    if writer.write_all(&line).await.is_err() || writer.flush().await.is_err() {
                        break;
                    }
                }
                Out::Close => {
                    let _ = writer.shutdown().await;
                    break;
                }
            }
        }
        // dropping `writer` closes the connection
    });

    let (crash_tx, mut crash_rx) = watch::channel(false);
    let conn = Arc::new(Conn {
        out: out_tx,
        shared: shared.clone(),
        turns: turns.into_iter().map(Arc::new).collect(),
        opts,
        turns_used: Mutex::new(0),
        turn_counter: AtomicU64::new(0),
        server_request_ids: AtomicI64::new(0),
        thread_ids_given: Mutex::new(HashMap::new()),
        active: Mutex::new(Vec::new()),
        crash: crash_tx,
    });

    let handle = FakeHandle {
        inner: shared.clone(),
    };
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        loop {
            let line = tokio::select! {
                _ = crash_rx.wait_for(|c| *c) => break,
                line = lines.next_line() => line,
            };
            let line = match line {
                Ok(Some(line)) => line,
                _ => break,
            };
            let Ok(msg) = serde_json::from_str::<Value>(line.trim()) else {
                continue;
            };
            if !msg.is_object() {
                continue;
            }
            shared.received.lock().unwrap().push(msg.clone());
            shared.changed.send_modify(|n| *n += 1);
            handle_client_message(&conn, msg);
        }
        // Stop every playing turn; the writer closes once all senders are gone.
        conn.active.lock().unwrap().clear();
        shared.stopped.store(true, Ordering::SeqCst);
        shared.changed.send_modify(|n| *n += 1);
    });
    handle
}

fn handle_client_message(conn: &Arc<Conn>, msg: Value) {
    let id = msg.get("id").cloned();
    let Some(method) = msg.get("method").and_then(Value::as_str) else {
        // A response (to a server request): route to the playing turns.
        if let Some(id) = id {
            for (_, tx) in conn.active.lock().unwrap().iter() {
                let _ = tx.send(TurnEvent::Response { id: id.clone() });
            }
        }
        return;
    };
    let Some(id) = id else { return }; // notifications (incl. `initialized`) are ignored
    let params = msg.get("params").cloned().unwrap_or(Value::Null);
    match method {
        "initialize" => {
            let t = &conn.turns[0];
            conn.send(json!({"id": id, "result": t.initialize_result}));
            for n in &t.init_notifications {
                conn.send(n.clone());
            }
        }
        "thread/start" => {
            let used = *conn.turns_used.lock().unwrap();
            let t = conn.turns[used.min(conn.turns.len() - 1)].clone();
            let recorded = t.thread_id.clone();
            let n = {
                let mut given = conn.thread_ids_given.lock().unwrap();
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
                let mut used = conn.turns_used.lock().unwrap();
                let t = conn.turns[(*used).min(conn.turns.len() - 1)].clone();
                *used += 1;
                t
            };
            let thread_id = params["threadId"]
                .as_str()
                .unwrap_or(&t.thread_id)
                .to_string();
            let n = conn.turn_counter.fetch_add(1, Ordering::SeqCst) + 1;
            let turn_id = format!("{}-{n}", t.turn_id);
            let (tx, rx) = mpsc::unbounded_channel();
            conn.active.lock().unwrap().push((turn_id.clone(), tx));
            let conn = conn.clone();
            tokio::spawn(async move {
                play_turn(&conn, &t, id, &thread_id, &turn_id, rx).await;
                conn.active
                    .lock()
                    .unwrap()
                    .retain(|(tid, _)| *tid != turn_id);
            });
        }
        "turn/interrupt" => {
            let wanted = params["turnId"].as_str();
            let target = {
                let active = conn.active.lock().unwrap();
                active
                    .iter()
                    .rev()
                    .find(|(tid, _)| wanted.is_none() || wanted == Some(tid.as_str()))
                    .map(|(_, tx)| tx.clone())
            };
            match target {
                Some(tx) if tx.send(TurnEvent::Interrupt { id: id.clone() }).is_ok() => {}
                _ => conn.send(json!({"id": id, "result": {}})),
            }
        }
        other => conn.send(json!({
            "id": id,
            "error": {"code": -32601, "message": format!("method not found: {other}")}
        })),
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
            .opts
            .crash_after_turn_messages
            .is_some_and(|n| *sent >= n)
        {
            conn.crash();
            return false;
        }
        true
    };

    for (idx, entry) in t.turn_part.iter().enumerate() {
        let expects_interrupt_later = t.turn_part[idx..]
            .iter()
            .any(|e| !e.from_server && e.msg["method"] == "turn/interrupt");

        // Honour the recorded gap, handling client messages meanwhile.
        let gap = ((entry.t - prev_t) * conn.opts.speed).max(0.0);
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
