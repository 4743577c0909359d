//! The transport: codex-ls's own read/write loop over tower-lsp-server's
//! [`LspService`](tower_lsp_server::LspService) (a `tower::Service` of
//! JSON-RPC requests) and its client socket (a stream of the server's own
//! requests and notifications, and a sink for the client's responses).
//!
//! Three tasks, each with one job:
//! - the **reader** reads the client's frames ([`framing`](super::framing)),
//!   decodes each body once ([`message`](super::message)) and hands on what
//!   it found: requests and notifications to the dispatcher, the client's
//!   responses straight to the socket (so a handler waiting on the client is
//!   never stuck behind the concurrency bound), error answers to the
//!   writer. It stops after `exit`: a read left pending on stdin would hold
//!   up the process's exit.
//! - the **dispatcher** calls the service. `didOpen`, `didChange` and
//!   `didClose` run to completion before the next message is taken, so
//!   documents change in arrival order by construction, and a request that
//!   follows an edit sees it. Every other message runs concurrently with up
//!   to [`MAX_CONCURRENCY`] others, as tower-lsp-server runs them. A handler
//!   that panics is contained by the service (see
//!   [`panic_guard`](super::panic_guard)).
//! - the **writer** writes the answers and the server's own messages, whole
//!   frames one after the other, and what is ready together in one write.
//!
//! One bad frame never ends the session (see [`message`](super::message)).
//! Message contents are logged only at the `trace` level, where
//! tower-lsp-server's codec logged them too (`<-` in, `->` out).
//! The queues are bounded: a client that sends and does not read its
//! answers is slowed down to the pace it reads at.

use std::fmt::Display;

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, Sink, SinkExt, Stream, StreamExt};
use tokio::io::{AsyncBufRead, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tower_lsp_server::Loopback;
use tower_lsp_server::jsonrpc::{Error, Id, Request, Response};
use tower_service::Service;

use super::framing::{Frame, FrameReader, write_header};
use super::message::{Decoded, Incoming, decode, refusal};

/// Requests and notifications handled at once (tower-lsp-server's default).
pub const MAX_CONCURRENCY: usize = 4;
/// Bodies larger than this are decoded on a blocking thread, so a 50 MB
/// `didOpen` does not stall the runtime's workers.
const BIG_MESSAGE: usize = 1 << 20;
/// The reader's buffer of the client's bytes.
const INPUT_BUFFER: usize = 64 << 10;
/// Decoded messages waiting for the dispatcher.
const MESSAGE_QUEUE: usize = 64;
/// Answers waiting for the writer. When the queue is full the client's
/// input waits, which is the back-pressure on a client that does not read.
const ANSWER_QUEUE: usize = 16;
/// Output gathered into one write at most (one message may be larger).
const WRITE_BATCH: usize = 64 << 10;

/// The notifications that change documents: run one at a time, in order.
const DOCUMENT_NOTIFICATIONS: [&str; 3] = [
    "textDocument/didOpen",
    "textDocument/didChange",
    "textDocument/didClose",
];

/// A session being served.
pub struct Connection {
    /// Ends when the client's input has ended (or `exit` came) and every
    /// message it sent has been handled.
    pub served: JoinHandle<()>,
    /// Ends when the last answer is written; await it (with a timeout)
    /// before the process exits, so the last answers go out.
    pub flushed: JoinHandle<()>,
}

/// Serves `service` to the client at `input` and `output`; `socket` is the
/// service's client socket.
pub fn serve<I, O, S, L>(input: I, output: O, service: S, socket: L) -> Connection
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
    S: Service<Request, Response = Option<Response>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Display + Send,
    L: Loopback,
    L::RequestStream: Send + 'static,
    L::ResponseSink: Send + 'static,
    <L::ResponseSink as Sink<Response>>::Error: Display,
{
    let (server_messages, client_responses) = socket.split();
    let (answers, answers_rx) = mpsc::channel(ANSWER_QUEUE);
    let (messages, messages_rx) = mpsc::channel(MESSAGE_QUEUE);
    let (dispatched, on_dispatched) = oneshot::channel();
    tokio::spawn(read_input(
        BufReader::with_capacity(INPUT_BUFFER, input),
        messages,
        client_responses,
        answers.clone(),
    ));
    let served = tokio::spawn(dispatch(service, messages_rx, answers, dispatched));
    let flushed = tokio::spawn(write_output(
        output,
        answers_rx,
        server_messages.take_until(on_dispatched),
    ));
    Connection { served, flushed }
}

/// The reader; see the module documentation.
async fn read_input<R, K>(
    input: R,
    messages: mpsc::Sender<Request>,
    mut client_responses: K,
    answers: mpsc::Sender<Response>,
) where
    R: AsyncBufRead + Unpin,
    K: Sink<Response> + Unpin,
    K::Error: Display,
{
    let mut frames = FrameReader::new(input);
    loop {
        let frame = match frames.read().await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(err) => {
                tracing::warn!("reading from the client failed: {err}");
                break;
            }
        };
        if let Frame::Body(body) = &frame {
            tracing::trace!("<- {}", String::from_utf8_lossy(body));
        }
        let decoded = match frame {
            Frame::Body(body) if body.len() <= BIG_MESSAGE => decode(body),
            Frame::Body(_) => decode_on_blocking_thread(&mut frames).await,
            Frame::TooLarge { length, head } => match refusal(length, &head) {
                Some(answer) => Decoded::Invalid(answer),
                None => continue,
            },
        };
        match decoded {
            Decoded::Message(Incoming::Request(request)) => {
                let exit = request.method() == "exit";
                if messages.send(request).await.is_err() || exit {
                    break;
                }
            }
            Decoded::Message(Incoming::Response(response)) => {
                if let Err(err) = client_responses.send(response).await {
                    tracing::warn!("a response from the client found no request: {err}");
                }
            }
            Decoded::Invalid(answer) => {
                // Waits while the writer is behind: see [`ANSWER_QUEUE`].
                if answers.send(answer).await.is_err() {
                    break;
                }
            }
        }
    }
}

/// Decodes the body in `frames`' buffer on a blocking thread, and gives the
/// buffer back.
async fn decode_on_blocking_thread<R>(frames: &mut FrameReader<R>) -> Decoded
where
    R: AsyncBufRead + Unpin,
{
    let body = frames.take_buffer();
    let decoded = tokio::task::spawn_blocking(move || {
        let decoded = decode(&body);
        (decoded, body)
    })
    .await;
    match decoded {
        Ok((decoded, body)) => {
            frames.restore(body);
            decoded
        }
        Err(err) => {
            tracing::error!("decoding a message from the client failed: {err}");
            Decoded::Invalid(Response::from_error(Id::Null, Error::internal_error()))
        }
    }
}

/// A call of the service, ending in its answer (if any).
type Call = BoxFuture<'static, Option<Response>>;

/// The dispatcher; see the module documentation.
async fn dispatch<S>(
    mut service: S,
    mut messages: mpsc::Receiver<Request>,
    answers: mpsc::Sender<Response>,
    dispatched: oneshot::Sender<()>,
) where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
    S::Error: Display,
{
    let mut in_flight: FuturesUnordered<Call> = FuturesUnordered::new();
    'messages: loop {
        let request = loop {
            tokio::select! {
                biased;
                Some(answer) = in_flight.next(), if !in_flight.is_empty() => {
                    deliver(&answers, answer).await;
                }
                message = messages.recv(), if in_flight.len() < MAX_CONCURRENCY => match message {
                    Some(request) => break request,
                    None => break 'messages,
                },
            }
        };
        // The service is not ready while `initialize` runs: the answers
        // still go out meanwhile, and an answer wakes this task to look
        // again.
        let ready = loop {
            tokio::select! {
                biased;
                ready = std::future::poll_fn(|cx| service.poll_ready(cx)) => break ready,
                Some(answer) = in_flight.next(), if !in_flight.is_empty() => {
                    deliver(&answers, answer).await;
                }
            }
        };
        if let Err(err) = ready {
            tracing::warn!("the language server takes no more messages: {err}");
            break;
        }
        let in_order = request.id().is_none() && DOCUMENT_NOTIFICATIONS.contains(&request.method());
        let mut call = call(&mut service, request);
        if !in_order {
            in_flight.push(call);
            continue;
        }
        loop {
            tokio::select! {
                biased;
                answer = &mut call => {
                    deliver(&answers, answer).await;
                    break;
                }
                Some(answer) = in_flight.next(), if !in_flight.is_empty() => {
                    deliver(&answers, answer).await;
                }
            }
        }
    }
    while let Some(answer) = in_flight.next().await {
        deliver(&answers, answer).await;
    }
    // The server's own messages stop with the session's last answer.
    let _ = dispatched.send(());
}

/// Calls the service with `request`. A handler's panic is contained by the
/// service itself (`lsp::panic_guard` wraps it in `build_service`).
fn call<S>(service: &mut S, request: Request) -> Call
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
    S::Error: Display,
{
    let call = service.call(request);
    async move {
        call.await.unwrap_or_else(|err| {
            tracing::warn!("{err}");
            None
        })
    }
    .boxed()
}

async fn deliver(answers: &mpsc::Sender<Response>, answer: Option<Response>) {
    if let Some(answer) = answer {
        // Fails only when the writer has stopped: nobody reads any more.
        let _ = answers.send(answer).await;
    }
}

/// A message to the client.
enum Outgoing {
    Answer(Response),
    Server(Request),
}

/// The writer; see the module documentation. Ends when the answers end (the
/// reader and the dispatcher are done) and the server's messages do.
async fn write_output<O, M>(mut output: O, mut answers: mpsc::Receiver<Response>, server: M)
where
    O: AsyncWrite + Unpin,
    M: Stream<Item = Request> + Unpin,
{
    let mut server = server.fuse();
    let mut out = Vec::new();
    let mut body = Vec::new();
    loop {
        let next = tokio::select! {
            biased;
            Some(answer) = answers.recv() => Outgoing::Answer(answer),
            Some(message) = server.next() => Outgoing::Server(message),
            else => break,
        };
        encode(&next, &mut body, &mut out);
        // What is ready already goes out in the same write.
        while out.len() < WRITE_BATCH {
            let next = if let Ok(answer) = answers.try_recv() {
                Outgoing::Answer(answer)
            } else if let Some(Some(message)) = server.next().now_or_never() {
                Outgoing::Server(message)
            } else {
                break;
            };
            encode(&next, &mut body, &mut out);
        }
        if output.write_all(&out).await.is_err() || output.flush().await.is_err() {
            break;
        }
        out.clear();
        // A big message's buffers are given back.
        if out.capacity() > WRITE_BATCH {
            out = Vec::new();
        }
        if body.capacity() > WRITE_BATCH {
            body = Vec::new();
        }
    }
}

/// Appends `message`'s frame to `out`, using `body` as scratch.
fn encode(message: &Outgoing, body: &mut Vec<u8>, out: &mut Vec<u8>) {
    body.clear();
    let written = match message {
        Outgoing::Answer(answer) => serde_json::to_writer(&mut *body, answer),
        Outgoing::Server(request) => serde_json::to_writer(&mut *body, request),
    };
    if let Err(err) = written {
        tracing::error!("a message to the client cannot be written: {err}");
        return;
    }
    tracing::trace!("-> {}", String::from_utf8_lossy(body));
    write_header(out, body.len());
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};
    use std::time::Duration;

    use futures::channel::mpsc as channel;
    use serde_json::{Value, json};
    use tokio::io::{AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

    use super::*;
    use crate::lsp::framing::{MAX_FRAME, frame, read_frame};

    const WAIT: Duration = Duration::from_secs(30);

    /// A language server that records the notifications it has applied.
    /// A notification `{"yields": n}` applies after yielding n times, so
    /// notifications run at once finish out of order; `log` answers with
    /// what was applied so far; `panic` panics; any other request answers
    /// `null`.
    #[derive(Clone, Default)]
    struct Recorder {
        applied: Arc<Mutex<Vec<Value>>>,
    }

    impl Service<Request> for Recorder {
        type Response = Option<Response>;
        type Error = std::convert::Infallible;
        type Future = BoxFuture<'static, Result<Option<Response>, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: Request) -> Self::Future {
            let applied = self.applied.clone();
            async move {
                let (method, id, params) = request.into_parts();
                let Some(id) = id else {
                    let params = params.unwrap_or_default();
                    for _ in 0..params["yields"].as_u64().unwrap_or(0) {
                        tokio::task::yield_now().await;
                    }
                    applied.lock().unwrap().push(params);
                    return Ok(None);
                };
                let result = match method.as_ref() {
                    "log" => Value::Array(applied.lock().unwrap().clone()),
                    "panic" => panic!("a handler panicked"),
                    _ => Value::Null,
                };
                Ok(Some(Response::from_ok(id, result)))
            }
            .boxed()
        }
    }

    /// A client socket whose server side the test holds.
    struct FakeSocket {
        requests: channel::Receiver<Request>,
        responses: channel::Sender<Response>,
    }

    impl Loopback for FakeSocket {
        type RequestStream = channel::Receiver<Request>;
        type ResponseSink = channel::Sender<Response>;

        fn split(self) -> (Self::RequestStream, Self::ResponseSink) {
            (self.requests, self.responses)
        }
    }

    /// The test's side: the client's input and output, the server's
    /// messages to send, and the client's responses received.
    struct Client {
        input: WriteHalf<DuplexStream>,
        output: BufReader<ReadHalf<DuplexStream>>,
        server_messages: channel::Sender<Request>,
        client_responses: channel::Receiver<Response>,
        connection: Connection,
    }

    fn start<S>(service: S) -> Client
    where
        S: Service<Request, Response = Option<Response>> + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Display + Send,
    {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (server_read, server_write) = tokio::io::split(server);
        let (client_read, client_write) = tokio::io::split(client);
        let (server_messages, requests) = channel::channel(4);
        let (responses, client_responses) = channel::channel(4);
        let socket = FakeSocket {
            requests,
            responses,
        };
        let connection = serve(server_read, server_write, service, socket);
        Client {
            input: client_write,
            output: BufReader::new(client_read),
            server_messages,
            client_responses,
            connection,
        }
    }

    impl Client {
        async fn send(&mut self, message: Value) {
            let bytes = frame(message.to_string().as_bytes());
            self.input.write_all(&bytes).await.unwrap();
        }

        async fn next(&mut self) -> Value {
            let body = tokio::time::timeout(WAIT, read_frame(&mut self.output))
                .await
                .expect("an answer in time")
                .unwrap()
                .expect("an answer, not the end of the output");
            serde_json::from_slice(&body).unwrap()
        }
    }

    /// Edits apply in the order they came, although each one waits before
    /// it applies, and a request after them sees them all.
    #[tokio::test]
    async fn document_notifications_apply_in_arrival_order() {
        let mut client = start(Recorder::default());
        for n in 0..20 {
            client
                .send(json!({"jsonrpc": "2.0", "method": "textDocument/didChange",
                    "params": {"n": n, "yields": 20 - n}}))
                .await;
        }
        client
            .send(json!({"jsonrpc": "2.0", "id": 1, "method": "log"}))
            .await;
        let answer = client.next().await;
        let order: Vec<Value> = answer["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|applied| applied["n"].clone())
            .collect();
        assert_eq!(order, (0..20).map(Value::from).collect::<Vec<_>>());
    }

    /// A handler that panics, behind the panic guard `build_service` puts
    /// around the service, answers its request with an internal error; the
    /// session goes on.
    #[tokio::test]
    async fn a_panicking_handler_gets_an_internal_error_and_the_session_goes_on() {
        let mut client = start(crate::lsp::panic_guard::PanicGuard::new(Recorder::default()));
        client
            .send(json!({"jsonrpc": "2.0", "id": "boom", "method": "panic"}))
            .await;
        let answer = client.next().await;
        assert_eq!(answer["id"], "boom", "{answer}");
        assert_eq!(answer["error"]["code"], -32603, "{answer}");
        client
            .send(json!({"jsonrpc": "2.0", "id": 2, "method": "log"}))
            .await;
        assert_eq!(client.next().await["id"], 2);
    }

    /// The server's own messages and the answers share one writer; the
    /// client's responses reach the socket.
    #[tokio::test]
    async fn server_messages_go_out_and_client_responses_come_in() {
        let mut client = start(Recorder::default());
        let request = Request::build("workspace/configuration")
            .id(7)
            .params(json!({"items": []}))
            .finish();
        client.server_messages.send(request).await.unwrap();
        let sent = client.next().await;
        assert_eq!(sent["method"], "workspace/configuration", "{sent}");
        client
            .send(json!({"jsonrpc": "2.0", "id": 7, "result": []}))
            .await;
        let response = tokio::time::timeout(WAIT, client.client_responses.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response, Response::from_ok(7.into(), json!([])));
    }

    #[tokio::test]
    async fn the_server_keeps_reading_after_a_bad_frame() {
        let service = Recorder::default();
        let mut client = start(service.clone());
        client.input.write_all(&frame(b"{oops")).await.unwrap();
        client
            .send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"n": 1}}))
            .await;
        client
            .send(json!({"jsonrpc": "2.0", "id": 2, "method": "log"}))
            .await;
        // The bad one was answered with a parse error.
        let answer = client.next().await;
        assert_eq!(answer["error"]["code"], -32700, "{answer}");
        assert_eq!(answer["id"], Value::Null);
        // The server saw only the good ones.
        let answer = client.next().await;
        assert_eq!(answer["result"], json!([{"n": 1}]));
        // The input ends: everything is served and written out.
        client.input.shutdown().await.unwrap();
        drop(client.server_messages);
        let served = tokio::time::timeout(WAIT, client.connection.served).await;
        assert!(matches!(served, Ok(Ok(()))));
        let flushed = tokio::time::timeout(WAIT, client.connection.flushed).await;
        assert!(matches!(flushed, Ok(Ok(()))));
    }

    /// After `exit` the transport reads no more (a read pending on stdin
    /// would hold up the process's exit) and ends.
    #[tokio::test]
    async fn exit_ends_the_session_with_the_input_still_open() {
        let mut client = start(Recorder::default());
        client
            .send(json!({"jsonrpc": "2.0", "method": "exit"}))
            .await;
        let served = tokio::time::timeout(WAIT, client.connection.served).await;
        assert!(matches!(served, Ok(Ok(()))));
        let flushed = tokio::time::timeout(WAIT, client.connection.flushed).await;
        assert!(matches!(flushed, Ok(Ok(()))));
    }

    /// A frame over the limit streams past without being buffered: the
    /// server never sees it, a request gets an error with its id, and the
    /// next frame passes.
    #[tokio::test]
    async fn a_frame_over_the_limit_is_refused_and_the_next_one_passes() {
        use tokio::io::AsyncReadExt;
        let length = MAX_FRAME + (16 << 20);
        let start_of_frame =
            br#"{"jsonrpc":"2.0","id":"huge","method":"textDocument/hover","params":{"pad":""#;
        let end = br#""}}"#;
        let header = format!("Content-Length: {length}\r\n\r\n");
        let pad = (length - start_of_frame.len() - end.len()) as u64;
        let good = frame(br#"{"jsonrpc":"2.0","id":2,"method":"log"}"#);
        let input = std::io::Cursor::new(header.into_bytes())
            .chain(&start_of_frame[..])
            .chain(tokio::io::repeat(b'x').take(pad))
            .chain(&end[..])
            .chain(std::io::Cursor::new(good));
        let (client_side, output) = tokio::io::duplex(1 << 16);
        let (_server_messages, requests) = channel::channel(1);
        let (responses, _client_responses) = channel::channel(1);
        let socket = FakeSocket {
            requests,
            responses,
        };
        serve(input, output, Recorder::default(), socket);
        let mut client_in = BufReader::new(client_side);
        let mut next = async || -> Value {
            let body = tokio::time::timeout(Duration::from_secs(60), read_frame(&mut client_in))
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            serde_json::from_slice(&body).unwrap()
        };
        let answer = next().await;
        assert_eq!(answer["id"], "huge", "{answer}");
        assert_eq!(answer["error"]["code"], -32600, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("too large"), "{message}");
        let answer = next().await;
        assert_eq!(answer, json!({"jsonrpc": "2.0", "id": 2, "result": []}));
    }

    /// A client that sends garbage and never reads the error answers: the
    /// transport stops reading its input once a few answers wait, so memory
    /// cannot grow. (On a paused clock, the timeout fires only when every
    /// task is stuck waiting.)
    #[tokio::test(start_paused = true)]
    async fn error_answers_to_a_client_that_does_not_read_hold_up_its_input() {
        const FRAMES: usize = 10_000;
        let (client_input, server_input) = tokio::io::duplex(4 << 10);
        let (client_output, server_output) = tokio::io::duplex(4 << 10);
        let (_server_messages, requests) = channel::channel(1);
        let (responses, _client_responses) = channel::channel(1);
        let socket = FakeSocket {
            requests,
            responses,
        };
        let _connection = serve(server_input, server_output, Recorder::default(), socket);
        let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut writer = tokio::spawn({
            let sent = sent.clone();
            let mut client_input = client_input;
            async move {
                for _ in 0..FRAMES {
                    client_input.write_all(&frame(b"{oops")).await.unwrap();
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                client_input
            }
        });
        let stalled = tokio::time::timeout(Duration::from_secs(60), &mut writer).await;
        assert!(
            stalled.is_err(),
            "all {FRAMES} frames were taken while no answer was read"
        );
        let taken = sent.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            taken < 1_000,
            "{taken} frames taken while no answer was read"
        );
        // Once the client reads, every frame is answered.
        let mut client_in = BufReader::new(client_output);
        for n in 0..FRAMES {
            let answer = read_frame(&mut client_in).await.unwrap();
            let answer: Value = serde_json::from_slice(&answer.unwrap()).unwrap();
            assert_eq!(answer["error"]["code"], -32700, "answer {n}: {answer}");
        }
        writer.await.unwrap();
    }
}
