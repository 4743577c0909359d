//! Panic containment: a handler that panics answers its request with an
//! internal error and the session goes on; a run whose task panics still
//! ends (`end` with `failed` / `internal-error`) and leaves the registry.
//!
//! The panics are injected through test-only hooks compiled with the
//! `fuzzing` feature (which the test suite turns on): the request
//! `codex-ls/__panic` (`lsp::panic_guard::PANIC_METHOD`) and a run whose
//! prompt starts with `handlers::run::PANIC_PROMPT`. Both tests run over
//! the plain in-process transport and behind the wire guard, as `main`
//! serves it.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use codex_ls::handlers::run::PANIC_PROMPT;
use codex_ls::lsp::panic_guard::PANIC_METHOD;
use serde_json::json;
use support::harness::*;

async fn start(guarded: bool, launcher: FakeLauncher) -> Harness {
    if guarded {
        Harness::start_guarded(launcher).await
    } else {
        Harness::start(launcher).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_an_internal_error_and_the_session_goes_on() {
    for guarded in [false, true] {
        let mut h = start(guarded, FakeLauncher::playing(&["ok"])).await;
        let error = h
            .client
            .request(PANIC_METHOD, json!({}))
            .await
            .expect_err("a panicking handler must answer an error");
        assert_eq!(error["code"], -32603, "{error}");
        // The session goes on: requests are answered, runs run.
        let uri = h.open("src/lib.rs", "fn main() {}\n", None).await;
        h.run_to_completion(&uri, "tok-after-panic").await;
        h.status_when_idle().await;
        h.finish().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_task_panics_ends_failed_and_leaves_the_registry() {
    for guarded in [false, true] {
        let mut h = start(guarded, FakeLauncher::playing(&["ok"])).await;
        let uri = h.open("src/lib.rs", "fn main() {}\n", None).await;
        let started = h
            .run(json!({
                "textDocument": {"uri": uri},
                "prompt": format!("{PANIC_PROMPT}: explain"),
                "progressToken": "tok-panic",
            }))
            .await;
        // The task panicked before `begin`: the supervisor's `end` is the
        // only progress the run sends.
        let end = h.next_progress(&json!("tok-panic")).await;
        assert_eq!(end["kind"], "end", "{end}");
        assert_eq!(end["codex"]["runId"], started["runId"]);
        assert_eq!(end["codex"]["status"], "failed", "{end}");
        assert_eq!(end["codex"]["error"]["code"], "internal-error", "{end}");
        h.status_when_idle().await;
        // The token is free again, and the next run works.
        h.run_to_completion(&uri, "tok-panic").await;
        h.status_when_idle().await;
        h.finish().await;
    }
}
