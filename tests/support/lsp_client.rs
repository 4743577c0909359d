#![allow(dead_code)]
//! An LSP test client that makes a test claim every message the server sends.
//!
//! Speaks the LSP base protocol (`Content-Length: N\r\n\r\n` + JSON body) over
//! any `AsyncRead`/`AsyncWrite` pair: an in-process server over
//! `tokio::io::duplex`, or a child process's stdout/stdin.
//!
//! A reader task parses incoming messages into a channel; the client moves
//! them into a buffer of *unclaimed* messages while it waits for something.
//! `request` claims its response, `expect_notification*` / `expect_request` /
//! `take_notifications` claim what they return. Server→client requests whose
//! method was registered with [`TestClient::auto_respond`] are answered by the
//! reader task at once (even while the test awaits something else) and count
//! as claimed.
//!
//! Dropping a `TestClient` (unless the thread is already panicking) pulls
//! whatever the reader task has already parsed, without waiting, and panics
//! if any message is unclaimed, except methods whitelisted with
//! [`TestClient::allow_unclaimed`]. Call [`TestClient::drain`] first to give
//! late messages a chance to arrive. All waiting is done on channels with
//! `tokio::time::timeout`; nothing sleeps or polls.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Default timeout of [`TestClient::request`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

enum Out {
    Msg(Value, Option<oneshot::Sender<()>>),
    /// Bytes written as they are (no framing), for malformed input.
    Raw(Vec<u8>, oneshot::Sender<()>),
    Close(oneshot::Sender<()>),
}

struct Incoming {
    msg: Value,
    /// Already answered by the reader task (auto_respond).
    auto_answered: bool,
}

pub struct TestClient {
    out: mpsc::UnboundedSender<Out>,
    incoming: mpsc::UnboundedReceiver<Incoming>,
    /// Unclaimed messages, in arrival order.
    buffer: Vec<Value>,
    /// Every message received, claimed or not, in arrival order.
    log: Vec<Value>,
    auto: Arc<Mutex<HashMap<String, Value>>>,
    allowed: Vec<String>,
    next_id: i64,
    request_timeout: Duration,
    eof: Arc<AtomicBool>,
    /// The incoming channel is closed and fully drained.
    closed: bool,
    reader_task: JoinHandle<()>,
}

fn is_response(m: &Value) -> bool {
    m.get("method").is_none() && m.get("id").is_some()
}
fn is_request(m: &Value) -> bool {
    m.get("method").is_some() && m.get("id").is_some()
}
fn is_notification(m: &Value) -> bool {
    m.get("method").is_some() && m.get("id").is_none()
}

/// `v` framed by the one LSP framing module, as the server frames its own.
fn frame(v: &Value) -> Vec<u8> {
    codex_ls::lsp::framing::frame(&serde_json::to_vec(v).expect("serialize"))
}

fn auto_response(msg: &Value, auto: &Mutex<HashMap<String, Value>>) -> Option<Value> {
    if !is_request(msg) {
        return None;
    }
    let method = msg["method"].as_str()?;
    let result = auto.lock().unwrap().get(method)?.clone();
    Some(json!({"jsonrpc": "2.0", "id": msg["id"], "result": result}))
}

/// Reads one framed message; `Ok(None)` at the end of the output.
async fn read_message<R: AsyncRead + Unpin>(
    r: &mut BufReader<R>,
) -> std::io::Result<Option<Value>> {
    let Some(body) = codex_ls::lsp::framing::read_frame(r).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

impl TestClient {
    /// Spawns the reader and writer tasks on the current tokio runtime.
    pub fn new<R, W>(reader: R, writer: W) -> TestClient
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Out>();
        tokio::spawn(async move {
            let mut writer = Some(writer);
            while let Some(out) = out_rx.recv().await {
                match out {
                    Out::Msg(v, ack) => {
                        if let Some(w) = writer.as_mut() {
                            let bytes = frame(&v);
                            if w.write_all(&bytes).await.is_err() || w.flush().await.is_err() {
                                writer = None;
                            }
                        }
                        if let Some(ack) = ack {
                            let _ = ack.send(());
                        }
                    }
                    Out::Raw(bytes, ack) => {
                        if let Some(w) = writer.as_mut()
                            && (w.write_all(&bytes).await.is_err() || w.flush().await.is_err())
                        {
                            writer = None;
                        }
                        let _ = ack.send(());
                    }
                    Out::Close(ack) => {
                        if let Some(mut w) = writer.take() {
                            let _ = w.shutdown().await;
                        }
                        let _ = ack.send(());
                    }
                }
            }
        });

        let (in_tx, in_rx) = mpsc::unbounded_channel::<Incoming>();
        let auto: Arc<Mutex<HashMap<String, Value>>> = Arc::default();
        let eof = Arc::new(AtomicBool::new(false));
        let reader_task = {
            let auto = auto.clone();
            let eof = eof.clone();
            let out = out_tx.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(reader);
                loop {
                    match read_message(&mut reader).await {
                        Ok(Some(msg)) => {
                            let auto_answered = match auto_response(&msg, &auto) {
                                Some(resp) => {
                                    let _ = out.send(Out::Msg(resp, None));
                                    true
                                }
                                None => false,
                            };
                            if in_tx.send(Incoming { msg, auto_answered }).is_err() {
                                break;
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            eprintln!("lsp_client: read error, treating as closed: {e}");
                            break;
                        }
                    }
                }
                eof.store(true, Ordering::SeqCst);
            })
        };

        TestClient {
            out: out_tx,
            incoming: in_rx,
            buffer: Vec::new(),
            log: Vec::new(),
            auto,
            allowed: Vec::new(),
            next_id: 0,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            eof,
            closed: false,
            reader_task,
        }
    }

    /// Sets the timeout `request` waits for its response.
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    /// Moves one incoming message into the buffer (or answers it).
    fn accept(&mut self, inc: Incoming) {
        self.log.push(inc.msg.clone());
        if inc.auto_answered {
            return;
        }
        // Arrived before its method was registered with auto_respond.
        if let Some(resp) = auto_response(&inc.msg, &self.auto) {
            let _ = self.out.send(Out::Msg(resp, None));
            return;
        }
        self.buffer.push(inc.msg);
    }

    /// Takes what the reader task has already parsed, without waiting.
    fn pump_ready(&mut self) {
        loop {
            match self.incoming.try_recv() {
                Ok(inc) => self.accept(inc),
                Err(mpsc::error::TryRecvError::Empty) => return,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    self.closed = true;
                    return;
                }
            }
        }
    }

    /// Waits for one more message until `deadline`; false on timeout or close.
    async fn pump_one(&mut self, deadline: Instant) -> bool {
        if self.closed {
            return false;
        }
        match tokio::time::timeout_at(deadline, self.incoming.recv()).await {
            Ok(Some(inc)) => {
                self.accept(inc);
                true
            }
            Ok(None) => {
                self.closed = true;
                false
            }
            Err(_) => false,
        }
    }

    /// Claims the first buffered message matching `pred`, waiting up to
    /// `timeout`. `Err(reason)` on timeout or when the server closed.
    async fn claim(
        &mut self,
        pred: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        self.pump_ready();
        loop {
            if let Some(pos) = self.buffer.iter().position(&pred) {
                return Ok(self.buffer.remove(pos));
            }
            if self.closed {
                return Err("the server closed its output".into());
            }
            if !self.pump_one(deadline).await && !self.closed {
                return Err(format!("timed out after {timeout:?}"));
            }
        }
    }

    fn describe_unclaimed(&self) -> String {
        if self.buffer.is_empty() {
            return "  (none)".into();
        }
        self.buffer
            .iter()
            .map(|m| format!("  {m}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn send(&mut self, msg: Value) {
        let (ack_tx, ack_rx) = oneshot::channel();
        if self.out.send(Out::Msg(msg, Some(ack_tx))).is_ok() {
            let _ = ack_rx.await;
        }
    }

    /// Sends a request and waits (request timeout, default 10 s) for its
    /// response: `Ok(result)` or `Err(error)`. Panics on timeout or close.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let timeout = self.request_timeout;
        self.request_with_timeout(method, params, timeout).await
    }

    /// [`request`](Self::request) with an explicit timeout.
    pub async fn request_with_timeout(
        &mut self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, Value> {
        self.next_id += 1;
        let id = json!(self.next_id);
        let mut msg = json!({"jsonrpc": "2.0", "id": id, "method": method});
        if !params.is_null() {
            msg["params"] = params;
        }
        self.send(msg).await;
        let what = format!("request `{method}` (id {id})");
        self.response(&id, timeout, &what).await
    }

    /// Claims the response with `id` (`what` names it when none comes):
    /// `Ok(result)` or `Err(error)`. Panics on timeout.
    async fn response(
        &mut self,
        id: &Value,
        timeout: Duration,
        what: &str,
    ) -> Result<Value, Value> {
        let resp = match self
            .claim(|m| is_response(m) && m["id"] == *id, timeout)
            .await
        {
            Ok(resp) => resp,
            Err(why) => panic!(
                "no response to {what}: {why}\nunclaimed messages:\n{}",
                self.describe_unclaimed()
            ),
        };
        match resp.get("error") {
            Some(err) => Err(err.clone()),
            None => Ok(resp.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// Writes `bytes` to the server as they are, in order with the other
    /// messages: frame them yourself (or not, to send garbage).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let (ack_tx, ack_rx) = oneshot::channel();
        if self.out.send(Out::Raw(bytes.to_vec(), ack_tx)).is_ok() {
            let _ = ack_rx.await;
        }
    }

    /// Claims the response with `id` (e.g. to a request sent with
    /// [`send_raw`](Self::send_raw); `null` for the error answer to a
    /// message the server could not read): `Ok(result)` or `Err(error)`.
    /// Panics on timeout.
    pub async fn expect_response(&mut self, id: &Value, timeout: Duration) -> Result<Value, Value> {
        self.response(id, timeout, &format!("id {id}")).await
    }

    /// Sends a notification (params omitted when `Null`).
    pub async fn notify(&mut self, method: &str, params: Value) {
        let mut msg = json!({"jsonrpc": "2.0", "method": method});
        if !params.is_null() {
            msg["params"] = params;
        }
        self.send(msg).await;
    }

    /// Claims the first unclaimed notification with `method` (waiting up to
    /// `timeout`) and returns its params. Panics on timeout.
    pub async fn expect_notification(&mut self, method: &str, timeout: Duration) -> Value {
        self.expect_notification_where(method, |_| true, timeout)
            .await
    }

    /// Claims the first unclaimed notification with `method` whose params
    /// satisfy `pred`; returns the params. Panics on timeout.
    pub async fn expect_notification_where(
        &mut self,
        method: &str,
        pred: impl Fn(&Value) -> bool,
        timeout: Duration,
    ) -> Value {
        let null = Value::Null;
        let found = self
            .claim(
                |m| {
                    is_notification(m)
                        && m["method"] == method
                        && pred(m.get("params").unwrap_or(&null))
                },
                timeout,
            )
            .await;
        match found {
            Ok(m) => m.get("params").cloned().unwrap_or(Value::Null),
            Err(why) => panic!(
                "expected notification `{method}` (matching the predicate): {why}\nunclaimed messages:\n{}",
                self.describe_unclaimed()
            ),
        }
    }

    /// Claims the first unclaimed server→client request with `method`;
    /// returns `(id, params)`. Panics on timeout.
    pub async fn expect_request(&mut self, method: &str, timeout: Duration) -> (Value, Value) {
        match self
            .claim(|m| is_request(m) && m["method"] == method, timeout)
            .await
        {
            Ok(m) => (
                m["id"].clone(),
                m.get("params").cloned().unwrap_or(Value::Null),
            ),
            Err(why) => panic!(
                "expected server request `{method}`: {why}\nunclaimed messages:\n{}",
                self.describe_unclaimed()
            ),
        }
    }

    /// Answers a server→client request.
    pub async fn respond(&mut self, id: Value, result: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}))
            .await;
    }

    /// Answers a server→client request with an error.
    pub async fn respond_error(&mut self, id: Value, code: i64, message: &str) {
        self.send(json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
            .await;
    }

    /// Answers every server→client request of `method` with `result` from now
    /// on (including ones already buffered); they count as claimed.
    pub fn auto_respond(&mut self, method: &str, result: Value) {
        self.auto.lock().unwrap().insert(method.to_string(), result);
        let mut kept = Vec::with_capacity(self.buffer.len());
        for m in std::mem::take(&mut self.buffer) {
            match auto_response(&m, &self.auto) {
                Some(resp) => {
                    let _ = self.out.send(Out::Msg(resp, None));
                }
                None => kept.push(m),
            }
        }
        self.buffer = kept;
        self.pump_ready();
    }

    /// Claims every buffered notification of `method` (no waiting); returns
    /// their params in arrival order.
    pub fn take_notifications(&mut self, method: &str) -> Vec<Value> {
        self.pump_ready();
        let (taken, kept): (Vec<Value>, Vec<Value>) = std::mem::take(&mut self.buffer)
            .into_iter()
            .partition(|m| is_notification(m) && m["method"] == method);
        self.buffer = kept;
        taken
            .into_iter()
            .map(|m| m.get("params").cloned().unwrap_or(Value::Null))
            .collect()
    }

    /// Reads whatever arrives within `timeout` into the buffer (returns early
    /// when the server closes its output).
    pub async fn drain(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        self.pump_ready();
        while self.pump_one(deadline).await {}
    }

    /// The unclaimed messages (whole messages, not params), in arrival order.
    pub fn unclaimed(&self) -> Vec<Value> {
        self.buffer.clone()
    }

    /// Every message received so far (claimed or not, auto-answered
    /// included), in arrival order. Does not pull from the reader task.
    pub fn received(&self) -> Vec<Value> {
        self.log.clone()
    }

    /// Unclaimed messages of `method` are tolerated by the drop check.
    pub fn allow_unclaimed(&mut self, method: &str) {
        self.allowed.push(method.to_string());
    }

    /// Sends `initialize` (panics on an error response), then `initialized`;
    /// returns the initialize result.
    pub async fn initialize(&mut self, init_params: Value) -> Value {
        let result = self
            .request("initialize", init_params)
            .await
            .unwrap_or_else(|e| panic!("initialize failed: {e}"));
        self.notify("initialized", json!({})).await;
        result
    }

    /// Sends `shutdown` (panics on an error response), then `exit`.
    pub async fn shutdown_and_exit(&mut self) {
        if let Err(e) = self.request("shutdown", Value::Null).await {
            panic!("shutdown failed: {e}");
        }
        self.notify("exit", Value::Null).await;
    }

    /// Closes our side of the connection (the server sees EOF on its input).
    pub async fn close_input(&mut self) {
        let (ack_tx, ack_rx) = oneshot::channel();
        if self.out.send(Out::Close(ack_tx)).is_ok() {
            let _ = ack_rx.await;
        }
    }

    /// Whether the server closed its output (EOF seen by the reader task).
    pub fn is_closed(&self) -> bool {
        self.closed || self.eof.load(Ordering::SeqCst)
    }

    /// Waits until the server closes its output; messages arriving meanwhile
    /// are buffered (still to be claimed). `false` on timeout.
    pub async fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.pump_ready();
        while !self.closed {
            if !self.pump_one(deadline).await && !self.closed {
                return false;
            }
        }
        true
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.reader_task.abort();
            return;
        }
        self.pump_ready();
        self.reader_task.abort();
        let offending: Vec<String> = self
            .buffer
            .iter()
            .filter(|m| {
                let method = m.get("method").and_then(Value::as_str).unwrap_or("");
                !self.allowed.iter().any(|a| a == method)
            })
            .map(|m| format!("  {m}"))
            .collect();
        if !offending.is_empty() {
            panic!(
                "TestClient dropped with {} unclaimed message(s) from the server:\n{}",
                offending.len(),
                offending.join("\n")
            );
        }
    }
}
