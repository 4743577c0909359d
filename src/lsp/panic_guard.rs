//! Panic containment around the LSP service: a handler that panics answers
//! its request with an internal error (`-32603`) and the session goes on,
//! as rust-analyzer, ruff and biome do. Without it the panic unwinds into
//! the transport's loop and ends the whole session over one bad request.
//!
//! [`PanicGuard`] wraps any `tower::Service<Request>` (tower-lsp-server's
//! `LspService`), so whichever transport drives the service gets it: the
//! guard sits between the transport and the handlers, not in the transport.
//! A panic in a notification's handler has nobody to answer: it is logged
//! and the notification is dropped.

use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use futures::FutureExt;
use futures::future::BoxFuture;
use tower_lsp_server::jsonrpc::{Error, Request, Response};
use tower_service::Service;

/// A service whose handlers' panics become error answers.
#[derive(Debug)]
pub struct PanicGuard<S> {
    inner: S,
}

impl<S> PanicGuard<S> {
    pub fn new(inner: S) -> Self {
        PanicGuard { inner }
    }

    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S> Service<Request> for PanicGuard<S>
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Option<Response>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let id = request.id().cloned();
        let method = request.method().to_string();
        // A handler may panic before its first `.await` (in `call` itself)
        // or while it runs: both are caught.
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request)));
        let answer = move |panic: Box<dyn std::any::Any + Send>| {
            tracing::error!(
                "the handler of {method} panicked: {}; the session goes on",
                panic_message(panic.as_ref())
            );
            Ok(id.map(|id| Response::from_error(id, internal_error(&method))))
        };
        match called {
            Ok(future) => Box::pin(async move {
                match AssertUnwindSafe(future).catch_unwind().await {
                    Ok(result) => result,
                    Err(panic) => answer(panic),
                }
            }),
            Err(panic) => Box::pin(std::future::ready(answer(panic))),
        }
    }
}

/// The answer to a request whose handler panicked. The panic's message is
/// logged, not sent: it may quote the user's text.
fn internal_error(method: &str) -> Error {
    Error {
        message: format!("codex-ls failed internally while handling {method}; see its log").into(),
        ..Error::internal_error()
    }
}

/// The text a panic was raised with, when it is text.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(text) = panic.downcast_ref::<&str>() {
        text
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text
    } else {
        "a panic without a message"
    }
}

/// The method of the test-only request whose handler panics, registered
/// only when the `fuzzing` feature is on (the test suite turns it on; the
/// shipped binary never has it). Not part of the protocol.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub const PANIC_METHOD: &str = "codex-ls/__panic";

/// The handler of [`PANIC_METHOD`]: panics, so tests can show that the
/// guard answers and the session goes on.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[allow(clippy::panic)]
pub async fn panic_for_tests(
    _server: &crate::Server,
    _params: serde_json::Value,
) -> tower_lsp_server::jsonrpc::Result<serde_json::Value> {
    panic!("the test-only {PANIC_METHOD} request")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tower_lsp_server::jsonrpc::Id;

    /// A service whose every call panics, before or after its first poll.
    struct Panicking {
        in_call: bool,
    }

    impl Service<Request> for Panicking {
        type Response = Option<Response>;
        type Error = std::convert::Infallible;
        type Future = BoxFuture<'static, Result<Option<Response>, Self::Error>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: Request) -> Self::Future {
            if self.in_call {
                panic!("boom in call");
            }
            Box::pin(async { panic!("boom in the handler") })
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_an_internal_error() {
        for in_call in [false, true] {
            let mut guard = PanicGuard::new(Panicking { in_call });
            let request = Request::build("codex/x").id(7).params(json!({})).finish();
            let answer = guard.call(request).await.unwrap().unwrap();
            assert_eq!(answer.id(), &Id::Number(7));
            let error = answer.error().unwrap();
            assert_eq!(
                error.code,
                tower_lsp_server::jsonrpc::ErrorCode::InternalError
            );
            assert!(error.message.contains("codex/x"), "{}", error.message);
            // A notification has no answer.
            let notification = Request::build("codex/y").finish();
            assert!(guard.call(notification).await.unwrap().is_none());
        }
    }
}
