//! Newline-delimited JSON-RPC to the app-server over any `AsyncRead` /
//! `AsyncWrite` pair, so tests can plug in a fake server. One reader task
//! routes answers to their callers and notifications to the subscriber of
//! their thread, and answers every request the server sends; one writer task
//! owns the output. When the reader sees the end of the stream, every pending
//! call and every subscription ends at once: runs in flight fail immediately
//! instead of waiting for their timeout. A line longer than
//! [`MAX_MESSAGE_LINE`] is discarded as it streams (see [`super::lines`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::error::RpcError;
use super::lines::{Line, LineReader, MAX_MESSAGE_LINE, Overlong};
use super::protocol::decline_server_request;

/// A notification from the app-server.
#[derive(Debug, Clone)]
pub struct Notification {
    pub method: String,
    pub params: Value,
}

/// A request the app-server sent us about a thread (an approval). It must
/// be answered: one dropped without an answer is declined, so a turn never
/// blocks on us and nothing is ever approved by default.
pub struct ServerRequest {
    pub method: String,
    pub params: Value,
    reply: Option<(Value, mpsc::UnboundedSender<String>)>,
}

impl ServerRequest {
    /// Answers the request with `result`.
    pub fn respond(mut self, result: Value) {
        if let Some((id, outgoing)) = self.reply.take() {
            send_result(&outgoing, &id, result);
        }
    }
}

impl Drop for ServerRequest {
    fn drop(&mut self) {
        if let Some((id, outgoing)) = self.reply.take() {
            answer_with_decline(&self.method, &id, &outgoing);
        }
    }
}

impl std::fmt::Debug for ServerRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerRequest")
            .field("method", &self.method)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PartialEq for ServerRequest {
    fn eq(&self, other: &ServerRequest) -> bool {
        self.method == other.method && self.params == other.params
    }
}

/// What the app-server sends about one thread.
#[derive(Debug)]
pub enum ThreadMessage {
    Notification(Notification),
    Request(ServerRequest),
}

type Reply = Result<Value, (i64, String)>;

#[derive(Default)]
struct Routes {
    pending: HashMap<i64, oneshot::Sender<Reply>>,
    threads: HashMap<String, mpsc::UnboundedSender<ThreadMessage>>,
    /// Notices sent outside any thread (a `configWarning` at start-up),
    /// kept until a run takes them to show them once.
    notices: Vec<Notification>,
}

/// At most this many unshown notices are kept; older ones are dropped.
const MAX_KEPT_NOTICES: usize = 16;

struct Shared {
    next_id: AtomicI64,
    routes: Mutex<Routes>,
    closed: CancellationToken,
}

impl Shared {
    fn routes(&self) -> MutexGuard<'_, Routes> {
        // A poisoned lock only means another task panicked mid-update of a
        // map; the maps themselves stay valid, so keep going.
        self.routes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn close(&self) {
        self.closed.cancel();
        let mut routes = self.routes();
        routes.pending.clear();
        routes.threads.clear();
    }
}

/// A live JSON-RPC connection to one app-server.
#[derive(Clone)]
pub struct Connection {
    outgoing: mpsc::UnboundedSender<String>,
    shared: Arc<Shared>,
}

/// The notifications and requests of one thread, in arrival order. Dropping it
/// unsubscribes. `recv` returns `None` once the connection has closed.
pub struct ThreadSubscription {
    thread_id: String,
    receiver: mpsc::UnboundedReceiver<ThreadMessage>,
    shared: Arc<Shared>,
}

impl ThreadSubscription {
    pub async fn recv(&mut self) -> Option<ThreadMessage> {
        self.receiver.recv().await
    }
}

impl Drop for ThreadSubscription {
    fn drop(&mut self) {
        self.shared.routes().threads.remove(&self.thread_id);
    }
}

impl Connection {
    /// Starts the reader and writer tasks on the current tokio runtime.
    pub fn start<R, W>(reader: R, writer: W) -> Connection
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let shared = Arc::new(Shared {
            next_id: AtomicI64::new(1),
            routes: Mutex::new(Routes::default()),
            closed: CancellationToken::new(),
        });
        let (outgoing, outgoing_rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(writer, outgoing_rx, shared.clone()));
        tokio::spawn(read_loop(reader, outgoing.clone(), shared.clone()));
        Connection { outgoing, shared }
    }

    /// Sends a request and waits for its answer.
    pub async fn request<P, T>(
        &self,
        method: &str,
        params: &P,
        timeout: Duration,
    ) -> Result<T, RpcError>
    where
        P: Serialize,
        T: DeserializeOwned,
    {
        let closed = || RpcError::Closed {
            method: method.to_string(),
        };
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        {
            let mut routes = self.shared.routes();
            if self.shared.closed.is_cancelled() {
                return Err(closed());
            }
            routes.pending.insert(id, sender);
        }
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if self.outgoing.send(message.to_string()).is_err() {
            self.shared.routes().pending.remove(&id);
            return Err(closed());
        }
        let reply = match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => return Err(closed()),
            Err(_) => {
                self.shared.routes().pending.remove(&id);
                return Err(RpcError::TimedOut {
                    method: method.to_string(),
                    after: timeout,
                });
            }
        };
        let value = reply.map_err(|(code, message)| RpcError::Rejected {
            method: method.to_string(),
            code,
            message,
        })?;
        serde_json::from_value(value).map_err(|err| RpcError::Malformed {
            method: method.to_string(),
            detail: super::serde_message::without_values(&err),
        })
    }

    /// Sends a notification; a closed connection drops it silently, as the
    /// reader has already failed everything that depended on it.
    pub fn notify(&self, method: &str, params: Option<Value>) {
        let message = match params {
            Some(params) => json!({"jsonrpc": "2.0", "method": method, "params": params}),
            None => json!({"jsonrpc": "2.0", "method": method}),
        };
        let _ = self.outgoing.send(message.to_string());
    }

    /// The notices sent outside any thread since the last call: each is
    /// returned once.
    pub fn take_notices(&self) -> Vec<Notification> {
        std::mem::take(&mut self.shared.routes().notices)
    }

    /// Routes the notifications that name `thread_id` to the returned
    /// subscription. Subscribe before starting a turn so nothing is missed.
    pub fn subscribe(&self, thread_id: &str) -> ThreadSubscription {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut routes = self.shared.routes();
        if !self.shared.closed.is_cancelled() {
            routes.threads.insert(thread_id.to_string(), sender);
        }
        ThreadSubscription {
            thread_id: thread_id.to_string(),
            receiver,
            shared: self.shared.clone(),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.shared.closed.is_cancelled()
    }

    /// Closes the connection from our side (its process exited, or it is
    /// being taken down): every pending call and subscription ends at once,
    /// without waiting for the end of a stream that a surviving helper may
    /// hold open.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Resolves when the connection has closed.
    pub async fn closed(&self) {
        self.shared.closed.cancelled().await
    }
}

async fn write_loop<W>(
    mut writer: W,
    mut outgoing: mpsc::UnboundedReceiver<String>,
    shared: Arc<Shared>,
) where
    W: AsyncWrite + Unpin,
{
    loop {
        let line = tokio::select! {
            line = outgoing.recv() => line,
            () = shared.closed.cancelled() => None,
        };
        let Some(mut line) = line else { break };
        line.push('\n');
        let written = async {
            writer.write_all(line.as_bytes()).await?;
            writer.flush().await
        };
        if let Err(err) = written.await {
            tracing::warn!("writing to codex app-server failed: {err}");
            shared.close();
            break;
        }
    }
    let _ = writer.shutdown().await;
}

async fn read_loop<R>(reader: R, outgoing: mpsc::UnboundedSender<String>, shared: Arc<Shared>)
where
    R: AsyncRead + Unpin,
{
    let mut lines = LineReader::new(BufReader::new(reader), MAX_MESSAGE_LINE, Overlong::Discard);
    loop {
        // Once closed from our side (the process exited), stop reading: a
        // helper that outlived it may hold the pipe open for good.
        let read = tokio::select! {
            read = lines.next_line() => read,
            () = shared.closed.cancelled() => break,
        };
        match read {
            Ok(None) => break,
            Ok(Some(Line::Whole(line))) => dispatch(line, &outgoing, &shared),
            Ok(Some(Line::TooLong { bytes, .. })) => {
                // Its content may be anything the agent read: only its size
                // is logged. Whatever it answered or announced is lost; a
                // call waiting for it ends by its own timeout or cancel.
                tracing::warn!(
                    "discarded a message from codex app-server of {bytes} bytes, longer than the limit of {MAX_MESSAGE_LINE} bytes"
                );
            }
            Err(err) => {
                tracing::warn!("reading from codex app-server failed: {err}");
                break;
            }
        }
        // A flood of buffered lines must not starve the tasks that turn
        // deltas into reports: yield when the budget is spent.
        tokio::task::consume_budget().await;
    }
    tracing::debug!("codex app-server closed its output");
    shared.close();
}

/// Routes one line from the app-server. Lines that are not JSON-RPC are
/// logged and skipped: one bad line must not take the connection down.
fn dispatch(line: &[u8], outgoing: &mpsc::UnboundedSender<String>, shared: &Shared) {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return;
    }
    let message: Value = match serde_json::from_slice(trimmed) {
        Ok(message) => message,
        Err(err) => {
            tracing::warn!("ignoring a line from codex app-server that is not JSON: {err}");
            return;
        }
    };
    let method = message.get("method").and_then(Value::as_str);
    let id = message.get("id").filter(|id| !id.is_null());
    match (method, id) {
        (Some(method), Some(id)) => route_server_request(method, id, &message, outgoing, shared),
        (Some(method), None) => route_notification(method, &message, shared),
        (None, Some(id)) => route_reply(id, &message, shared),
        (None, None) => {
            tracing::warn!("ignoring a message from codex app-server with neither id nor method")
        }
    }
}

/// Hands a request about a thread to that thread's subscriber; one nobody
/// is listening for is declined at once.
fn route_server_request(
    method: &str,
    id: &Value,
    message: &Value,
    outgoing: &mpsc::UnboundedSender<String>,
    shared: &Shared,
) {
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    let thread_id = params.get("threadId").and_then(Value::as_str);
    let subscriber =
        thread_id.and_then(|thread_id| shared.routes().threads.get(thread_id).cloned());
    let Some(subscriber) = subscriber else {
        answer_with_decline(method, id, outgoing);
        return;
    };
    let request = ServerRequest {
        method: method.to_string(),
        params,
        reply: Some((id.clone(), outgoing.clone())),
    };
    // A subscriber that has gone drops the request, which declines it.
    let _ = subscriber.send(ThreadMessage::Request(request));
}

fn answer_with_decline(method: &str, id: &Value, outgoing: &mpsc::UnboundedSender<String>) {
    match decline_server_request(method) {
        Ok(result) => {
            tracing::info!("declined codex request `{method}`");
            send_result(outgoing, id, result);
        }
        Err((code, message)) => {
            tracing::info!("rejected codex request `{method}`");
            let answer =
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
            let _ = outgoing.send(answer.to_string());
        }
    }
}

fn send_result(outgoing: &mpsc::UnboundedSender<String>, id: &Value, result: Value) {
    let answer = json!({"jsonrpc": "2.0", "id": id, "result": result});
    let _ = outgoing.send(answer.to_string());
}

fn route_notification(method: &str, message: &Value, shared: &Shared) {
    let params = message.get("params");
    let thread_id = params
        .and_then(|params| params.get("threadId"))
        .and_then(Value::as_str);
    let Some(thread_id) = thread_id else {
        tracing::trace!("codex notification `{method}`");
        if super::steps::is_global_notice(method) {
            let mut routes = shared.routes();
            if routes.notices.len() == MAX_KEPT_NOTICES {
                routes.notices.remove(0);
            }
            routes.notices.push(Notification {
                method: method.to_string(),
                params: params.cloned().unwrap_or(Value::Null),
            });
        }
        return;
    };
    let routes = shared.routes();
    if let Some(subscriber) = routes.threads.get(thread_id) {
        // The one copy on the delta path: the subscriber owns its params.
        let _ = subscriber.send(ThreadMessage::Notification(Notification {
            method: method.to_string(),
            params: params.cloned().unwrap_or(Value::Null),
        }));
    }
}

fn route_reply(id: &Value, message: &Value, shared: &Shared) {
    let Some(id) = id.as_i64() else {
        tracing::warn!("ignoring a codex answer with a non-numeric id {id}");
        return;
    };
    let Some(sender) = shared.routes().pending.remove(&id) else {
        tracing::debug!("ignoring a codex answer to unknown request {id}");
        return;
    };
    let reply = match message.get("error") {
        Some(error) => Err((
            error.get("code").and_then(Value::as_i64).unwrap_or(0),
            error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("no message")
                .to_string(),
        )),
        None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
    };
    let _ = sender.send(reply);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, duplex};

    const WAIT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn request_gets_its_answer_and_notifications_reach_their_thread() {
        let (client_io, server_io) = duplex(1 << 16);
        let (client_read, client_write) = tokio::io::split(client_io);
        let connection = Connection::start(client_read, client_write);
        let (server_read, mut server_write) = tokio::io::split(server_io);
        let mut server_lines = BufReader::new(server_read).lines();

        let mut subscription = connection.subscribe("th");
        let call = tokio::spawn({
            let connection = connection.clone();
            async move {
                connection
                    .request::<_, Value>("thread/start", &json!({}), WAIT)
                    .await
            }
        });
        let sent: Value =
            serde_json::from_str(&server_lines.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!(sent["method"], "thread/start");
        let reply = json!({"id": sent["id"], "result": {"ok": true}});
        let note = json!({"method": "turn/started", "params": {"threadId": "th"}});
        let other = json!({"method": "turn/started", "params": {"threadId": "other"}});
        for message in [other, reply, note] {
            server_write
                .write_all(format!("{message}\n").as_bytes())
                .await
                .unwrap();
        }
        assert_eq!(call.await.unwrap().unwrap(), json!({"ok": true}));
        let Some(ThreadMessage::Notification(received)) = subscription.recv().await else {
            panic!("expected a notification");
        };
        assert_eq!(received.method, "turn/started");
    }

    #[tokio::test]
    async fn server_requests_are_answered_and_garbage_is_skipped() {
        let (client_io, server_io) = duplex(1 << 16);
        let (client_read, client_write) = tokio::io::split(client_io);
        let _connection = Connection::start(client_read, client_write);
        let (server_read, mut server_write) = tokio::io::split(server_io);
        let mut server_lines = BufReader::new(server_read).lines();
        let request =
            json!({"id": 0, "method": "item/commandExecution/requestApproval", "params": {}});
        server_write
            .write_all(b"not json\n\xff\xfe\n")
            .await
            .unwrap();
        server_write
            .write_all(format!("{request}\n").as_bytes())
            .await
            .unwrap();
        let answer: Value =
            serde_json::from_str(&server_lines.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!(
            answer,
            json!({"jsonrpc": "2.0", "id": 0, "result": {"decision": "decline"}})
        );
    }

    /// A message longer than the limit is dropped (today's reader would
    /// buffer and deliver it whole), and the next one is read as usual.
    #[tokio::test]
    async fn a_message_longer_than_the_limit_is_discarded_and_the_next_one_arrives() {
        use tokio::io::AsyncReadExt;
        let huge = br#"{"method":"item/agentMessage/delta","params":{"threadId":"th","turnId":"t","itemId":"i","delta":""#;
        let next = br#""}}
{"method":"turn/started","params":{"threadId":"th"}}
"#;
        let output = (&huge[..])
            .chain(tokio::io::repeat(b'x').take(MAX_MESSAGE_LINE as u64 + (1 << 20)))
            .chain(&next[..]);
        let connection = Connection::start(output, tokio::io::sink());
        let mut subscription = connection.subscribe("th");
        let first = tokio::time::timeout(Duration::from_secs(60), subscription.recv())
            .await
            .unwrap();
        let Some(ThreadMessage::Notification(received)) = first else {
            panic!("expected a notification, got {first:?}");
        };
        assert_eq!(received.method, "turn/started");
        assert!(subscription.recv().await.is_none());
    }

    #[tokio::test]
    async fn end_of_stream_fails_pending_calls_and_ends_subscriptions_at_once() {
        let (client_io, server_io) = duplex(1 << 16);
        let (client_read, client_write) = tokio::io::split(client_io);
        let connection = Connection::start(client_read, client_write);
        let mut subscription = connection.subscribe("th");
        let call = tokio::spawn({
            let connection = connection.clone();
            async move {
                connection
                    .request::<_, Value>("turn/start", &json!({}), Duration::from_secs(600))
                    .await
            }
        });
        drop(server_io);
        let result = tokio::time::timeout(WAIT, call).await.unwrap().unwrap();
        assert_eq!(
            result,
            Err(RpcError::Closed {
                method: "turn/start".into()
            })
        );
        assert!(
            tokio::time::timeout(WAIT, subscription.recv())
                .await
                .unwrap()
                .is_none()
        );
        assert!(connection.is_closed());
        let late = connection
            .request::<_, Value>("turn/start", &json!({}), WAIT)
            .await;
        assert!(matches!(late, Err(RpcError::Closed { .. })));
    }
}
