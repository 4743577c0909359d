//! A tiny mock of the OpenAI Responses API for driving the real `codex app-server`
//! offline in tests.
//!
//! HTTP/1.1 is implemented by hand on `tokio::net` (no HTTP crate): request line,
//! headers, `Content-Length` or `Transfer-Encoding: chunked` request bodies, and
//! keep-alive (several requests served in a loop on one connection). Streaming
//! answers are sent with `Transfer-Encoding: chunked` so the connection stays
//! reusable after a complete response.
//!
//! Codex 0.169.0 with the offline config from `codex_config_toml()` sends
//! uncompressed JSON with a `Content-Length` (it zstd-compresses request bodies only
//! for ChatGPT-authenticated sessions). A body with a non-identity
//! `Content-Encoding` is answered with HTTP 415 and recorded as
//! `{"_mock_error": "..."}` so a test sees the problem instead of hanging.
//!
//! Every `POST .../responses` takes the next [`Scenario`]; once the list is used
//! up, the last scenario repeats. Any other request gets a JSON 404 and is not
//! counted by [`MockModel::requests`] (it shows in [`MockModel::request_log`]).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the mock does with one `POST /v1/responses`.
#[derive(Clone, Debug)]
pub enum Scenario {
    /// 200 + SSE streaming `chunks` as output_text deltas with `delay` between them, then completion.
    Text {
        chunks: Vec<String>,
        delay: Duration,
    },
    /// HTTP error status with a JSON body {error:{message,type,code}}.
    HttpError { status: u16, message: String },
    /// 200, sends response.created and some deltas, then never sends anything more (keeps the
    /// connection open until the server is dropped or the client disconnects).
    Hang { chunks_before: Vec<String> },
    /// 200, sends some deltas then resets the connection (RST) without response.completed.
    Reset { chunks_before: Vec<String> },
    /// 200, the model calls `exec_command` with `cmd`, asking to run outside the sandbox
    /// (`sandbox_permissions: "require_escalated"`, so codex asks for approval under
    /// `approvalPolicy: "on-request"`). Codex then sends the next request with the
    /// `function_call_output`: give it the next scenario (the answer).
    ExecCommand {
        call_id: String,
        cmd: String,
        justification: String,
    },
    /// 200, the model calls `exec_command` with `cmd` inside the turn's
    /// sandbox (no escalation asked, so no approval): what the sandbox
    /// allows runs, the rest fails. Give it the next scenario (the answer).
    SandboxedCommand { call_id: String, cmd: String },
    /// 200, a reasoning item whose summary streams in `summary`'s pieces
    /// (`response.reasoning_summary_text.delta`), then `chunks` as the answer.
    Reasoned {
        summary: Vec<String>,
        chunks: Vec<String>,
    },
}

impl Scenario {
    /// Convenience: a `Text` scenario with no delay between chunks.
    pub fn text<S: Into<String>>(chunks: impl IntoIterator<Item = S>) -> Scenario {
        Scenario::Text {
            chunks: chunks.into_iter().map(Into::into).collect(),
            delay: Duration::ZERO,
        }
    }
}

/// One HTTP request as the mock saw it (any path, any method).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The decoded JSON body (`Value::Null` for an empty body; `{"_mock_error": ..}` when
    /// the body could not be decoded).
    pub body: Value,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Shared {
    /// (queue, last scenario taken): when the queue is empty the last one repeats.
    scenarios: Mutex<(VecDeque<Scenario>, Option<Scenario>)>,
    /// Bodies of the POSTs to `/responses`.
    bodies: Mutex<Vec<Value>>,
    /// Every request, including ones to unknown paths.
    log: Mutex<Vec<RecordedRequest>>,
    /// Number of `/responses` POSTs received (for `wait_requests`).
    count_tx: watch::Sender<usize>,
    /// Numbering for response and message ids.
    next_id: AtomicU64,
    /// TCP connections accepted so far.
    connections: AtomicU64,
}

impl Shared {
    fn next_scenario(&self) -> Scenario {
        let mut guard = lock(&self.scenarios);
        let (queue, last) = &mut *guard;
        if let Some(s) = queue.pop_front() {
            *last = Some(s.clone());
            return s;
        }
        last.clone().unwrap_or(Scenario::HttpError {
            status: 500,
            message: "mock model: no scenario configured".to_string(),
        })
    }
}

/// Locks a std mutex, ignoring poisoning (a panicking test thread must not wedge the server).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct MockModel {
    port: u16,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    accept_task: JoinHandle<()>,
}

impl MockModel {
    /// Binds 127.0.0.1:0 and starts serving. Each `POST /v1/responses` takes the next
    /// scenario; when the list is exhausted, the last one repeats.
    pub async fn start(scenarios: Vec<Scenario>) -> MockModel {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("mock model: bind 127.0.0.1:0");
        let port = listener
            .local_addr()
            .expect("mock model: local_addr")
            .port();
        let (count_tx, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            scenarios: Mutex::new((scenarios.into(), None)),
            bodies: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            count_tx,
            next_id: AtomicU64::new(1),
            connections: AtomicU64::new(0),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone(), shutdown_rx));
        MockModel {
            port,
            shared,
            shutdown,
            accept_task,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/v1`; codex POSTs to `{base_url}/responses`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// Decoded JSON bodies of the `POST .../responses` requests received so far.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.shared.bodies).clone()
    }

    /// Every request received so far (method, path, headers, body), including ones
    /// the mock answered with 404.
    pub fn request_log(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Number of TCP connections accepted so far (codex reuses a keep-alive connection
    /// across turns, so this is usually smaller than the request count).
    pub fn connection_count(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` `POST .../responses` requests have arrived. Returns false
    /// on timeout.
    pub async fn wait_requests(&self, n: usize, timeout: Duration) -> bool {
        let mut rx = self.shared.count_tx.subscribe();
        matches!(
            tokio::time::timeout(timeout, rx.wait_for(|c| *c >= n)).await,
            Ok(Ok(_))
        )
    }

    /// Replaces the scenario queue (the "last one repeats" memory is reset too, so the
    /// new list's last entry is the one that repeats).
    pub fn set_scenarios(&self, scenarios: Vec<Scenario>) {
        *lock(&self.shared.scenarios) = (scenarios.into(), None);
    }

    /// Makes `codex_home` (created if need be) a `$CODEX_HOME` whose
    /// `config.toml` points Codex at this mock.
    pub fn write_codex_home(&self, codex_home: &std::path::Path) {
        std::fs::create_dir_all(codex_home).expect("mock model: create CODEX_HOME");
        std::fs::write(codex_home.join("config.toml"), self.codex_config_toml())
            .expect("mock model: write config.toml");
    }

    /// The offline `config.toml` (see shared/codex-app-server/NOTES.md) pointing at
    /// this mock. Write it to `$CODEX_HOME/config.toml`.
    pub fn codex_config_toml(&self) -> String {
        format!(
            r#"model = "mock-model"
model_provider = "mock"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[model_providers.mock]
name = "Mock Responses API"
base_url = "{base_url}"
wire_api = "responses"
requires_openai_auth = false
supports_websockets = false
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 10000

[analytics]
enabled = false

[features]
plugins = false
apps = false
"#,
            base_url = self.base_url()
        )
    }
}

/// Every text the model was sent in a request's input.
pub fn input_texts(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|item| item["content"].as_array().into_iter().flatten())
        .filter_map(|content| content["text"].as_str().map(str::to_string))
        .collect()
}

/// The `function_call_output`s (what a command the model called gave back)
/// in a request's input, as JSON text.
pub fn call_outputs(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|item| item["type"] == "function_call_output")
        .map(|item| item["output"].to_string())
        .collect()
}

/// Whether a command's output tells the model the user declined it.
pub fn says_declined(output: &str) -> bool {
    let output = output.to_lowercase();
    ["reject", "declin", "denied"]
        .iter()
        .any(|word| output.contains(word))
}

impl Drop for MockModel {
    fn drop(&mut self) {
        // Every connection task watches this flag; hanging streams end and their
        // sockets close.
        let _ = self.shutdown.send(true);
        self.accept_task.abort();
    }
}

async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    // Err means the sender is gone, which is a shutdown too.
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = wait_shutdown(&mut shutdown) => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // e.g. EMFILE: back off briefly instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = wait_shutdown(&mut conn_shutdown) => {}
                _ = serve_connection(stream, shared) => {}
            }
        });
    }
}

// ---------------------------------------------------------------------------
// HTTP/1.1 request parsing
// ---------------------------------------------------------------------------

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 64 * 1024 * 1024;

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    keep_alive: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Buffered reader over the connection that keeps leftover bytes between requests.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Reads more bytes into `buf`. Ok(false) on EOF.
    async fn fill(&mut self) -> std::io::Result<bool> {
        let mut tmp = [0u8; 16 * 1024];
        let n = self.stream.read(&mut tmp).await?;
        if n == 0 {
            return Ok(false);
        }
        self.buf.extend_from_slice(&tmp[..n]);
        Ok(true)
    }

    /// Takes bytes up to and including the next CRLF (or LF); the line without it.
    async fn read_line(&mut self, limit: usize) -> Result<Vec<u8>, String> {
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > limit {
                return Err("line too long".into());
            }
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => return Err("eof".into()),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    async fn read_exact_body(&mut self, n: usize) -> Result<Vec<u8>, String> {
        while self.buf.len() < n {
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => return Err("eof in body".into()),
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Ok(None) on a clean EOF before any byte of a new request.
    async fn read_request(&mut self) -> Result<Option<Request>, String> {
        // Skip stray empty lines between requests (RFC 9112 §2.2).
        let request_line = loop {
            if self.buf.is_empty() {
                match self.fill().await {
                    Ok(true) => {}
                    Ok(false) => return Ok(None),
                    Err(e) => return Err(e.to_string()),
                }
            }
            let line = self.read_line(MAX_HEAD).await?;
            if !line.is_empty() {
                break line;
            }
        };
        let request_line = String::from_utf8_lossy(&request_line).into_owned();
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(target), Some(version)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("bad request line: {request_line:?}"));
        };
        let (method, path, version) = (method.to_string(), target.to_string(), version.to_string());

        let mut headers = Vec::new();
        let mut head_len = request_line.len();
        loop {
            let line = self.read_line(MAX_HEAD).await?;
            if line.is_empty() {
                break;
            }
            head_len += line.len();
            if head_len > MAX_HEAD {
                return Err("headers too large".into());
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!("bad header line: {line:?}"));
            };
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }

        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.to_ascii_lowercase())
        };
        let connection = get("connection").unwrap_or_default();
        let keep_alive = if version.eq_ignore_ascii_case("HTTP/1.0") {
            connection.contains("keep-alive")
        } else {
            !connection.contains("close")
        };

        if get("expect").is_some_and(|v| v.contains("100-continue")) {
            self.stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(|e| e.to_string())?;
        }

        let chunked = get("transfer-encoding").is_some_and(|v| v.contains("chunked"));
        let body = if chunked {
            self.read_chunked_body().await?
        } else if let Some(len) = get("content-length") {
            let len: usize = len
                .trim()
                .parse()
                .map_err(|_| format!("bad content-length {len:?}"))?;
            if len > MAX_BODY {
                return Err("body too large".into());
            }
            self.read_exact_body(len).await?
        } else {
            Vec::new()
        };

        Ok(Some(Request {
            method,
            path,
            headers,
            body,
            keep_alive,
        }))
    }

    async fn read_chunked_body(&mut self) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(MAX_HEAD).await?;
            let line = String::from_utf8_lossy(&line).into_owned();
            let size_str = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_str, 16)
                .map_err(|_| format!("bad chunk size {line:?}"))?;
            if size == 0 {
                // Trailers until an empty line.
                loop {
                    if self.read_line(MAX_HEAD).await?.is_empty() {
                        return Ok(body);
                    }
                }
            }
            if body.len() + size > MAX_BODY {
                return Err("body too large".into());
            }
            let chunk = self.read_exact_body(size).await?;
            body.extend_from_slice(&chunk);
            // CRLF after the chunk data.
            self.read_line(MAX_HEAD).await?;
        }
    }
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
    };
    loop {
        let req = match conn.read_request().await {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(msg) => {
                let _ = write_json(&mut conn.stream, 400, &error_body(400, &msg), false).await;
                return;
            }
        };
        let keep_alive = req.keep_alive;
        match handle_request(&mut conn, &shared, req).await {
            Outcome::KeepGoing if keep_alive => continue,
            _ => return,
        }
    }
}

enum Outcome {
    KeepGoing,
    Close,
}

fn decode_body(req: &Request) -> Result<Value, String> {
    if let Some(enc) = req.header("content-encoding") {
        let enc = enc.trim().to_ascii_lowercase();
        if !enc.is_empty() && enc != "identity" {
            return Err(format!("unsupported content-encoding {enc:?}"));
        }
    }
    if req.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&req.body).map_err(|e| format!("invalid JSON body: {e}"))
}

async fn handle_request(conn: &mut Conn, shared: &Shared, req: Request) -> Outcome {
    let decoded = decode_body(&req);
    let body_value = match &decoded {
        Ok(v) => v.clone(),
        Err(msg) => json!({ "_mock_error": msg }),
    };
    let path_only = req.path.split('?').next().unwrap_or("").to_string();
    let is_responses =
        req.method == "POST" && path_only.trim_end_matches('/').ends_with("/responses");
    lock(&shared.log).push(RecordedRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        headers: req.headers.clone(),
        body: body_value.clone(),
    });
    let keep_alive = req.keep_alive;

    if !is_responses {
        let body = error_body(
            404,
            &format!("mock model: no route for {} {}", req.method, req.path),
        );
        return match write_json(&mut conn.stream, 404, &body, keep_alive).await {
            Ok(()) => Outcome::KeepGoing,
            Err(_) => Outcome::Close,
        };
    }

    lock(&shared.bodies).push(body_value);
    shared.count_tx.send_modify(|c| *c += 1);

    if let Err(msg) = decoded {
        let status = if msg.starts_with("unsupported content-encoding") {
            415
        } else {
            400
        };
        return match write_json(
            &mut conn.stream,
            status,
            &error_body(status, &msg),
            keep_alive,
        )
        .await
        {
            Ok(()) => Outcome::KeepGoing,
            Err(_) => Outcome::Close,
        };
    }

    let n = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let ids = Ids {
        resp: format!("resp_mock_{n}"),
        msg: format!("msg_mock_{n}"),
        created_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };

    match shared.next_scenario() {
        Scenario::HttpError { status, message } => {
            let body = error_body(status, &message);
            match write_json(&mut conn.stream, status, &body, keep_alive).await {
                Ok(()) => Outcome::KeepGoing,
                Err(_) => Outcome::Close,
            }
        }
        Scenario::Text { chunks, delay } => {
            match stream_text(&mut conn.stream, &ids, &chunks, delay).await {
                Ok(()) => Outcome::KeepGoing,
                Err(_) => Outcome::Close,
            }
        }
        Scenario::Hang { chunks_before } => {
            if stream_prefix(&mut conn.stream, &ids, &chunks_before)
                .await
                .is_ok()
            {
                // Say nothing more; return only when the client goes away (the server's
                // shutdown is handled by the caller's select).
                let mut sink = [0u8; 4096];
                loop {
                    match conn.stream.read(&mut sink).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
            }
            Outcome::Close
        }
        Scenario::ExecCommand {
            call_id,
            cmd,
            justification,
        } => {
            match stream_exec_command(&mut conn.stream, &ids, &call_id, &cmd, Some(&justification))
                .await
            {
                Ok(()) => Outcome::KeepGoing,
                Err(_) => Outcome::Close,
            }
        }
        Scenario::SandboxedCommand { call_id, cmd } => {
            match stream_exec_command(&mut conn.stream, &ids, &call_id, &cmd, None).await {
                Ok(()) => Outcome::KeepGoing,
                Err(_) => Outcome::Close,
            }
        }
        Scenario::Reasoned { summary, chunks } => {
            match stream_reasoned(&mut conn.stream, &ids, &summary, &chunks).await {
                Ok(()) => Outcome::KeepGoing,
                Err(_) => Outcome::Close,
            }
        }
        Scenario::Reset { chunks_before } => {
            let _ = stream_prefix(&mut conn.stream, &ids, &chunks_before).await;
            // SO_LINGER 0: close() sends RST instead of FIN, without blocking.
            let _ = conn.stream.set_zero_linger();
            Outcome::Close
        }
    }
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// `{error: {message, type, code}}` as the OpenAI API sends it.
fn error_body(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        400 | 404 | 415 => ("invalid_request_error", Value::Null),
        401 => ("invalid_request_error", json!("invalid_api_key")),
        403 => (
            "invalid_request_error",
            json!("unsupported_country_region_territory"),
        ),
        429 => ("requests", json!("rate_limit_exceeded")),
        _ => ("server_error", json!("server_error")),
    };
    json!({ "error": { "message": message, "type": kind, "code": code } })
}

async fn write_json(
    stream: &mut TcpStream,
    status: u16,
    body: &Value,
    keep_alive: bool,
) -> std::io::Result<()> {
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: {}\r\n\r\n",
        reason(status),
        body.len(),
        if keep_alive { "keep-alive" } else { "close" },
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    stream.write_all(&out).await?;
    stream.flush().await
}

struct Ids {
    resp: String,
    msg: String,
    created_at: u64,
}

/// Writes one SSE event as one HTTP chunk.
async fn send_event(stream: &mut TcpStream, kind: &str, mut data: Value) -> std::io::Result<()> {
    if let Value::Object(map) = &mut data {
        map.insert("type".to_string(), json!(kind));
    }
    let payload = format!("event: {kind}\ndata: {data}\n\n");
    let mut out = format!("{:x}\r\n", payload.len()).into_bytes();
    out.extend_from_slice(payload.as_bytes());
    out.extend_from_slice(b"\r\n");
    stream.write_all(&out).await?;
    stream.flush().await
}

/// Status line and headers, response.created, output_item.added, content_part.added, and
/// one output_text.delta per chunk (with `delay` before each delta after the first).
async fn stream_head_and_deltas(
    stream: &mut TcpStream,
    ids: &Ids,
    chunks: &[String],
    delay: Duration,
) -> std::io::Result<()> {
    send_head(stream, ids).await?;
    stream_message_deltas(stream, ids, chunks, delay).await
}

/// A reasoning item (output 0) whose summary streams in `summary`'s
/// pieces, one summary part, then the answer in `chunks` (output 1).
async fn stream_reasoned(
    stream: &mut TcpStream,
    ids: &Ids,
    summary: &[String],
    chunks: &[String],
) -> std::io::Result<()> {
    send_head(stream, ids).await?;
    let item_id = format!("rs_{}", ids.msg);
    send_event(
        stream,
        "response.output_item.added",
        json!({ "output_index": 0, "item": { "type": "reasoning", "id": item_id, "summary": [] }}),
    )
    .await?;
    send_event(
        stream,
        "response.reasoning_summary_part.added",
        json!({ "item_id": item_id, "output_index": 0, "summary_index": 0,
            "part": { "type": "summary_text", "text": "" } }),
    )
    .await?;
    for piece in summary {
        send_event(
            stream,
            "response.reasoning_summary_text.delta",
            json!({ "item_id": item_id, "output_index": 0, "summary_index": 0, "delta": piece }),
        )
        .await?;
    }
    let whole: String = summary.concat();
    send_event(
        stream,
        "response.reasoning_summary_text.done",
        json!({ "item_id": item_id, "output_index": 0, "summary_index": 0, "text": whole }),
    )
    .await?;
    send_event(
        stream,
        "response.reasoning_summary_part.done",
        json!({ "item_id": item_id, "output_index": 0, "summary_index": 0,
            "part": { "type": "summary_text", "text": whole } }),
    )
    .await?;
    send_event(
        stream,
        "response.output_item.done",
        json!({ "output_index": 0, "item": { "type": "reasoning", "id": item_id,
            "summary": [{ "type": "summary_text", "text": whole }] }}),
    )
    .await?;
    stream_message_deltas(stream, ids, chunks, Duration::ZERO).await?;
    finish_text(stream, ids, chunks).await
}

/// output_item.added, content_part.added, and one output_text.delta per
/// chunk (with `delay` before each delta after the first).
async fn stream_message_deltas(
    stream: &mut TcpStream,
    ids: &Ids,
    chunks: &[String],
    delay: Duration,
) -> std::io::Result<()> {
    send_event(
        stream,
        "response.output_item.added",
        json!({ "output_index": 0, "item": {
            "type": "message", "id": ids.msg, "role": "assistant",
            "status": "in_progress", "content": [],
        }}),
    )
    .await?;
    send_event(
        stream,
        "response.content_part.added",
        json!({ "item_id": ids.msg, "output_index": 0, "content_index": 0,
            "part": { "type": "output_text", "text": "", "annotations": [] } }),
    )
    .await?;
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        send_event(
            stream,
            "response.output_text.delta",
            json!({ "item_id": ids.msg, "output_index": 0, "content_index": 0, "delta": chunk }),
        )
        .await?;
    }
    Ok(())
}

/// The status line and headers of a streamed response, and
/// `response.created`.
async fn send_head(stream: &mut TcpStream, ids: &Ids) -> std::io::Result<()> {
    stream
        .write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: keep-alive\r\n\r\n",
        )
        .await?;
    send_event(
        stream,
        "response.created",
        json!({ "response": {
            "id": ids.resp, "object": "response", "created_at": ids.created_at,
            "status": "in_progress", "model": "mock-model",
        }}),
    )
    .await?;
    Ok(())
}

/// A response whose only output is an `exec_command` function call, asking
/// to run outside the sandbox when it gives a `justification`.
async fn stream_exec_command(
    stream: &mut TcpStream,
    ids: &Ids,
    call_id: &str,
    cmd: &str,
    justification: Option<&str>,
) -> std::io::Result<()> {
    send_head(stream, ids).await?;
    let arguments = match justification {
        Some(justification) => json!({
            "cmd": cmd, "sandbox_permissions": "require_escalated", "justification": justification,
        }),
        None => json!({ "cmd": cmd }),
    }
    .to_string();
    let item_id = format!("fc_{}", ids.msg);
    let item = |status: &str| {
        json!({
            "type": "function_call", "id": item_id, "call_id": call_id,
            "name": "exec_command", "arguments": arguments, "status": status,
        })
    };
    send_event(
        stream,
        "response.output_item.added",
        json!({ "output_index": 0, "item": item("in_progress") }),
    )
    .await?;
    send_event(
        stream,
        "response.function_call_arguments.done",
        json!({ "item_id": item_id, "output_index": 0, "arguments": arguments }),
    )
    .await?;
    send_event(
        stream,
        "response.output_item.done",
        json!({ "output_index": 0, "item": item("completed") }),
    )
    .await?;
    send_completed(stream, ids, 5).await
}

async fn stream_prefix(
    stream: &mut TcpStream,
    ids: &Ids,
    chunks: &[String],
) -> std::io::Result<()> {
    stream_head_and_deltas(stream, ids, chunks, Duration::ZERO).await
}

async fn stream_text(
    stream: &mut TcpStream,
    ids: &Ids,
    chunks: &[String],
    delay: Duration,
) -> std::io::Result<()> {
    stream_head_and_deltas(stream, ids, chunks, delay).await?;
    finish_text(stream, ids, chunks).await
}

/// output_text.done, output_item.done and response.completed of the answer
/// in `chunks`.
async fn finish_text(stream: &mut TcpStream, ids: &Ids, chunks: &[String]) -> std::io::Result<()> {
    let full: String = chunks.concat();
    send_event(
        stream,
        "response.output_text.done",
        json!({ "item_id": ids.msg, "output_index": 0, "content_index": 0, "text": full }),
    )
    .await?;
    send_event(
        stream,
        "response.output_item.done",
        json!({ "output_index": 0, "item": {
            "type": "message", "id": ids.msg, "role": "assistant", "status": "completed",
            "content": [{ "type": "output_text", "text": full, "annotations": [] }],
        }}),
    )
    .await?;
    send_completed(stream, ids, chunks.len() as u64).await
}

/// `response.completed`, then the last chunk: the response body is complete
/// and the connection can be reused.
async fn send_completed(
    stream: &mut TcpStream,
    ids: &Ids,
    output_tokens: u64,
) -> std::io::Result<()> {
    let input_tokens = 100u64;
    send_event(
        stream,
        "response.completed",
        json!({ "response": {
            "id": ids.resp, "object": "response", "created_at": ids.created_at,
            "status": "completed", "model": "mock-model", "output": [],
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": { "cached_tokens": 0 },
                "output_tokens": output_tokens,
                "output_tokens_details": { "reasoning_tokens": 0 },
                "total_tokens": input_tokens + output_tokens,
            },
        }}),
    )
    .await?;
    stream.write_all(b"0\r\n\r\n").await?;
    stream.flush().await
}
