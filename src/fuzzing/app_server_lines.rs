//! Fuzzing of the app-server client with whatever lines `codex app-server`
//! might write.
//!
//! The input is the script of a fake app-server: lines, grouped into steps
//! by empty lines. The fake server writes nothing until the client speaks;
//! after each message it reads from the client (a request, a notification
//! or an answer to one of its own requests), it writes the next step's
//! lines, with `$ID` replaced by the id of that message. Three lines are
//! directives instead: `CANCEL` cancels the run in flight as a user would,
//! `HANG` stops answering but keeps the connection open (so the client's
//! timeouts fire), `EXIT` closes the connection as a crash would. When the
//! script runs out, the fake server exits; a run after that starts a fresh
//! one, which goes on with the rest of the script.
//!
//! The client side is a prompt run as the editor starts it: the supervisor
//! starts the fake server, the run starts a thread and a turn and streams
//! the answer, approvals go to an approver that accepts, declines or does
//! not answer in turn. Three runs go one after the other, continuing the
//! thread. Findings: a panic anywhere, a run that does not end, and a
//! successful run whose streamed deltas (from the last reset on) are not
//! its answer.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::input::lines;
use super::{Finding, PanicWatch, ensure_paused_clock};
use crate::codex::{BackendError, Launched, Launcher, Supervisor};
use crate::prompt::approval::{ApprovalDecision, ApprovalQuestion, ApprovalSettings, Approver};
use crate::prompt::{PromptRunError, PromptRunParams, PromptRunResult, RunEvent, execute};

/// Runs in a row on one supervisor, each continuing the previous thread.
const RUNS: usize = 3;
/// A run's own timeout; the client's request timeouts are 30 s.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);
/// Far more than a run can take: handshake, thread and turn requests, the
/// run timeout, the interrupt grace. Virtual time.
const RUN_LIMIT: Duration = Duration::from_secs(600);

type Step = Vec<Vec<u8>>;

/// The script, shared by every app-server the supervisor starts, and the
/// cancel token of the run in flight.
struct Script {
    steps: Mutex<VecDeque<Step>>,
    cancel: Mutex<CancellationToken>,
}

impl Script {
    fn next_step(&self) -> Option<Step> {
        self.steps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front()
    }

    fn cancel_run(&self) {
        self.cancel
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .cancel();
    }

    fn new_run(&self) -> CancellationToken {
        let token = CancellationToken::new();
        *self
            .cancel
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = token.clone();
        token
    }
}

struct ScriptedLauncher(Arc<Script>);

impl Launcher for ScriptedLauncher {
    fn launch(&self, _codex_path: &str) -> Result<Launched, BackendError> {
        let (ours, theirs) = tokio::io::duplex(1 << 16);
        tokio::spawn(play(self.0.clone(), theirs));
        let (reader, writer) = tokio::io::split(ours);
        Ok(Launched {
            reader: Box::new(reader),
            writer: Box::new(writer),
            process: None,
        })
    }
}

/// The fake app-server: one step per message read from the client.
async fn play(script: Arc<Script>, io: DuplexStream) {
    let (read, mut write) = tokio::io::split(io);
    let mut read = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let Some(step) = script.next_step() else {
            return;
        };
        let id = serde_json::from_slice::<Value>(&line)
            .ok()
            .and_then(|message| message.get("id").cloned())
            .unwrap_or(Value::Null)
            .to_string();
        for out in step {
            match out.as_slice() {
                b"CANCEL" => script.cancel_run(),
                b"EXIT" => return,
                b"HANG" => {
                    // Read on so the client's writes never block, answer
                    // nothing.
                    while matches!(read.read_until(b'\n', &mut line).await, Ok(n) if n > 0) {
                        line.clear();
                    }
                    return;
                }
                _ => {
                    let mut out = replace(&out, b"$ID", id.as_bytes());
                    out.push(b'\n');
                    if write.write_all(&out).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// The input's steps: lines grouped by empty lines.
pub fn steps(data: &[u8]) -> VecDeque<Step> {
    let mut steps = VecDeque::new();
    let mut step = Vec::new();
    for line in lines(data) {
        if line.is_empty() {
            steps.push_back(std::mem::take(&mut step));
        } else {
            step.push(line.to_vec());
        }
    }
    if !step.is_empty() {
        steps.push_back(step);
    }
    steps
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while !rest.is_empty() {
        if rest.starts_with(needle) {
            out.extend_from_slice(with);
            rest = &rest[needle.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// Accepts, declines, does not answer and accepts for the session, in turn.
#[derive(Default)]
struct TakingTurnsApprover {
    asked: AtomicUsize,
}

impl Approver for TakingTurnsApprover {
    fn ask(
        &self,
        question: ApprovalQuestion,
    ) -> Pin<Box<dyn Future<Output = Option<ApprovalDecision>> + Send>> {
        // What the editor would show must be buildable from any request.
        let _shown = question.message();
        let decision = match self.asked.fetch_add(1, Ordering::Relaxed) % 4 {
            0 => Some(ApprovalDecision::Accept),
            1 => Some(ApprovalDecision::Decline),
            2 => None,
            _ => Some(ApprovalDecision::AcceptForSession),
        };
        Box::pin(async move { decision })
    }

    fn refused(&self, _message: String) {}
}

/// How each run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Per run: the answer, or the error code.
    pub runs: Vec<Result<String, String>>,
}

/// Runs one input; see the module documentation. Needs a current-thread
/// runtime with a paused clock.
pub async fn run(data: &[u8]) -> Result<Outcome, Finding> {
    ensure_paused_clock().await?;
    let watch = PanicWatch::start();
    let script = Arc::new(Script {
        steps: Mutex::new(steps(data)),
        cancel: Mutex::new(CancellationToken::new()),
    });
    let supervisor = Supervisor::new(Arc::new(ScriptedLauncher(script.clone())), "0.0.0-fuzz");
    let mut params = PromptRunParams::new(std::env::temp_dir(), "Explain this".to_string());
    params.timeout = RUN_TIMEOUT;
    let approvals = ApprovalSettings {
        approver: Some(Arc::new(TakingTurnsApprover::default())),
        timeout: Duration::from_secs(20),
        allow_privileged_escalation: false,
    };
    let mut thread = None;
    let mut outcome = Outcome { runs: Vec::new() };
    for n in 0..RUNS {
        let cancel = script.new_run();
        let limits =
            crate::prompt::RunLimits::new(cancel, tokio::time::Instant::now(), RUN_TIMEOUT);
        let (events, mut received) = mpsc::unbounded_channel();
        let executed = execute(
            &supervisor,
            "codex",
            &params,
            thread.clone(),
            &approvals,
            &events,
            &limits,
        );
        let Ok((result, binding)) = tokio::time::timeout(RUN_LIMIT, executed).await else {
            return Err(Finding::Hang(format!(
                "run {n} did not end within {RUN_LIMIT:?}"
            )));
        };
        drop(events);
        let mut seen = Vec::new();
        while let Ok(event) = received.try_recv() {
            seen.push(event);
        }
        check_run(n, &result, &seen)?;
        outcome.runs.push(match result {
            Ok(result) => Ok(result.assistant_text),
            Err(err) => Err(format!("{}: {err}", err.code())),
        });
        thread = binding;
    }
    supervisor.shutdown().await;
    // Let approval tasks and fake servers finish.
    tokio::time::sleep(RUN_LIMIT).await;
    watch.check()?;
    Ok(outcome)
}

/// A run's events must be in order, and a successful run's deltas must add
/// up to its answer, as the progress reports promise.
fn check_run(
    n: usize,
    result: &Result<PromptRunResult, PromptRunError>,
    events: &[RunEvent],
) -> Result<(), Finding> {
    let mut started = None;
    let mut streamed = String::new();
    for event in events {
        match event {
            RunEvent::Started { thread_id, turn_id } => {
                if started.is_some() {
                    return Err(Finding::Divergence(format!("run {n} started twice")));
                }
                started = Some((thread_id.clone(), turn_id.clone()));
            }
            RunEvent::Delta(delta) => {
                if started.is_none() {
                    return Err(Finding::Divergence(format!(
                        "run {n} streamed {delta:?} before its turn started"
                    )));
                }
                if delta.reset {
                    streamed.clear();
                }
                streamed.push_str(&delta.text);
            }
            _ => {}
        }
    }
    let Ok(result) = result else {
        return Ok(());
    };
    if result.assistant_text.trim().is_empty() {
        return Err(Finding::Divergence(format!(
            "run {n} succeeded with an empty answer"
        )));
    }
    if streamed != result.assistant_text {
        return Err(Finding::Divergence(format!(
            "run {n} streamed {streamed:?} but answered {:?}",
            result.assistant_text
        )));
    }
    if started != Some((result.thread_id.clone(), result.turn_id.clone())) {
        return Err(Finding::Divergence(format!(
            "run {n} answered for {}/{} but started {started:?}",
            result.thread_id, result.turn_id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_lines_separate_steps() {
        let steps = steps(b"a\nb\n\n\nc\n");
        assert_eq!(
            steps,
            VecDeque::from(vec![
                vec![b"a".to_vec(), b"b".to_vec()],
                vec![],
                vec![b"c".to_vec()],
            ])
        );
        assert_eq!(
            super::steps(b"x"),
            VecDeque::from(vec![vec![b"x".to_vec()]])
        );
    }

    #[test]
    fn ids_are_substituted() {
        assert_eq!(replace(b"{\"id\":$ID}$I", b"$ID", b"7"), b"{\"id\":7}$I");
    }
}
