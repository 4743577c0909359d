//! LSP benchmarks: drives the release `codex-ls` binary over stdio as an
//! editor does and prints, per scenario, wall time, the server's CPU time
//! (utime + stime from /proc/PID/stat), its peak RSS (VmHWM), latencies where
//! relevant, and the target with PASS/MISS. Run: `cargo bench --bench lsp`;
//! `cargo bench --bench lsp -- stream soak` runs only the scenarios named
//! (`startup`, `open` for 2-4, `many`, `stream` or one of its halves
//! `stream-latency` and `stream-load`, `soak`). `CODEX_LS_BENCH_SERVER=PATH`
//! measures another codex-ls binary with the same workloads.
//!
//! Scenarios: 1 startup, 2 open of a 5 MiB document, 3 an edit storm of
//! 20,000 incremental edits, 4 code-action latency while a storm runs
//! (against the floor of a do-nothing server measured in the same run),
//! 5 1,000 open documents of 20 KiB, 6 the streaming relay (delta from the
//! app-server to `$/progress` report: latency, losslessness, report rate and
//! CPU with 10 runs at once), 7 a soak of 1,000 runs one after another (RSS,
//! file descriptors and snapshot directories left behind).
//!
//! The client is lean on purpose: blocking pipes, one `write_all` per framed
//! message, and a reader thread that timestamps each message as soon as it is
//! parsed, so no async buffering sits between the server and the figures.
//!
//! codex-ls's `codexPath` is the crate's fake app-server
//! (`codex_ls::fuzzing::fake_app_server`, the `codex-ls-fake-app-server`
//! binary). On `turn/start` it reads the files attached as `@path` mentions
//! (codex-ls writes an unsaved buffer to a snapshot file) and answers with
//! their byte length and FNV-1a hash. `codex.explain` on the document
//! therefore shows the server's full text to the harness, which compares it
//! to its model. A prompt holding a `FAKE-STREAM` directive (see
//! [`StreamSpec`]) makes it stream numbered, timestamped deltas instead.
//!
//! The same binary plays two helper roles, chosen by its first argument:
//! - `null-server`: a do-nothing LSP server on stdio that answers every
//!   request with `null` (the harness's latency floor);
//! - `null-relay COUNT GAP_US GATE`: the floor of scenario 6. It runs the fake
//!   app-server itself and turns each delta into a `$/progress` frame on its
//!   stdout at once, so the same two pipe hops as through codex-ls remain.
// Benchmark code: a failed unwrap, expect or panic stops the benchmark.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod client;
mod editing;
mod figures;
mod limit;
mod process_stats;
mod roles;
mod soak;
mod streaming;
mod workload;

use client::*;
use editing::*;
use figures::*;
use process_stats::*;
use roles::*;
use soak::*;
use streaming::*;
use workload::*;

const WAIT: Duration = Duration::from_secs(60);
const STARTUP_SPAWNS: usize = 20;
const BIG_DOC_BYTES: usize = 5 * 1024 * 1024;
const STORM_EDITS: usize = 20_000;
/// One `codeAction` probe per this many edits during the latency storm.
const PROBE_EVERY: usize = 40;
const MANY_DOCS: usize = 1_000;
const SMALL_DOC_BYTES: usize = 20 * 1024;
const IDLE_RTT_SAMPLES: usize = 50;
/// Fresh servers that open the big document in scenario 2.
const OPEN_SAMPLES: usize = 5;
/// Storms with probes per server in scenario 4.
const LATENCY_ROUNDS: usize = 3;

// Targets (2-core machine).
const STARTUP_TARGET_MS: f64 = 5.0;
/// Server CPU of the open, at most.
const OPEN_CPU_TARGET_MS: f64 = 20.0;
/// Server CPU of the open and the storm, at most this many times the
/// physical limit (see `limit`).
const LIMIT_FACTOR: f64 = 2.0;
const OPEN_RSS_FACTOR: f64 = 1.3;
const STORM_CPU_TARGET_MS: f64 = 100.0;
const LATENCY_OVER_FLOOR_MS: f64 = 2.0;
/// Probe latency while edits come at a typing pace: `PACED_EDITS` edits at
/// `PACED_EDITS_PER_SEC`, a probe every `PACED_PROBE_EVERY` edits, per server.
const PACED_EDITS: usize = 2_000;
const PACED_EDITS_PER_SEC: u64 = 200;
const PACED_PROBE_EVERY: usize = 10;
const PACED_P50_OVER_FLOOR_MS: f64 = 0.1;
const PACED_P99_OVER_FLOOR_MS: f64 = 0.3;
const MANY_DOCS_RSS_MIB: f64 = 26.0;
const STREAM_LATENCY_P50_MS: f64 = 0.2;
const STREAM_LATENCY_P99_MS: f64 = 2.0;
const STREAM_CPU_SHARE: f64 = 0.10;
const SOAK_RSS_DRIFT: f64 = 0.05;

// Scenario 6.
/// Deltas of the paced latency stream, one every `PACED_GAP_US`: longer than
/// the 1 ms coalescing window plus a tick of tokio's 1 ms timer, so nearly
/// every delta reaches codex-ls after the window has closed and goes out at
/// once (see `StreamRun::take_report` for the ones that may not).
const PACED_DELTAS: usize = 750;
const PACED_GAP_US: u64 = 4_000;
/// Deltas of the stream the fake app-server writes as fast as it can.
const FLOOD_DELTAS: usize = 20_000;
const CONCURRENT_RUNS: usize = 10;
/// 1,000 deltas per second per run, for `CONCURRENT_DELTAS` / 1,000 s.
const CONCURRENT_GAP_US: u64 = 1_000;
const CONCURRENT_DELTAS: usize = 3_000;
/// codex-ls's default `progressIntervalMs`.
const DEFAULT_PROGRESS_INTERVAL_MS: u64 = 50;
/// With no report for this long while a stream is incomplete, a delta was
/// lost: the gates open so the runs can end and be counted as lossy.
const STREAM_QUIET: Duration = Duration::from_secs(5);

// Scenario 7.
const SOAK_RUNS: usize = 1_000;
const SOAK_DOC_BYTES: usize = 4 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("null-server") => null_server(),
        Some("null-relay") => null_relay(&args[1..]),
        // `cargo bench` passes `--bench`; other words pick scenarios.
        _ => bench(
            &args
                .into_iter()
                .filter(|a| !a.starts_with('-'))
                .collect::<Vec<_>>(),
        ),
    }
}

fn bench(selected: &[String]) {
    let wants = |names: &[&str]| {
        selected.is_empty() || selected.iter().any(|s| names.contains(&s.as_str()))
    };
    println!(
        "codex-ls LSP benchmarks ({} cores, clock ticks {}/s)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        clock_ticks_per_sec()
    );
    let mut summary = Summary(Vec::new());
    let dir = tempfile::tempdir().unwrap();
    install_fake_codex();
    if wants(&["1", "startup"]) {
        scenario_startup(&mut summary);
    }
    if wants(&["2", "3", "4", "open", "storm", "latency"]) {
        scenarios_open_storm_latency(&mut summary, dir.path());
    }
    if wants(&["5", "many"]) {
        scenario_many_docs(&mut summary, dir.path());
    }
    if wants(&["6", "stream", "stream-latency"]) {
        scenario_stream_latency(&mut summary, dir.path());
    }
    if wants(&["6", "stream", "stream-steps"]) {
        scenario_stream_steps(&mut summary, dir.path());
    }
    if wants(&["6", "stream", "stream-load"]) {
        scenario_stream_load(&mut summary, dir.path());
    }
    if wants(&["7", "soak"]) {
        scenario_soak(&mut summary, dir.path());
    }
    println!("\nsummary");
    for line in &summary.0 {
        println!("  {line}");
    }
}

struct Summary(Vec<String>);

impl Summary {
    fn add(&mut self, line: String) {
        println!("{line}");
        self.0.push(line);
    }
}
