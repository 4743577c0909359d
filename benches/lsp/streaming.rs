//! Scenario 6: the streaming relay from the app-server to `$/progress`.

use super::*;

/// `CLOCK_MONOTONIC` in ns, the clock the fake app-server stamps its
/// deltas with, so its send times and the client's receive times compare.
pub(crate) use codex_ls::fuzzing::fake_app_server::prompted::mono_ns;

/// Maps the reader thread's `Instant`s to `mono_ns` time.
pub(crate) struct MonoClock {
    pub(crate) at: Instant,
    pub(crate) ns: u64,
}

impl MonoClock {
    pub(crate) fn new() -> MonoClock {
        let before = mono_ns();
        let at = Instant::now();
        let after = mono_ns();
        MonoClock {
            at,
            ns: before + (after - before) / 2,
        }
    }

    pub(crate) fn ns(&self, t: Instant) -> u64 {
        match t.checked_duration_since(self.at) {
            Some(d) => self.ns + d.as_nanos() as u64,
            None => self.ns - (self.at - t).as_nanos() as u64,
        }
    }
}

/// What the fake app-server streams for a turn whose prompt holds a
/// `FAKE-STREAM` directive: numbered, timestamped deltas, and the turn's
/// end only once the client opened the gate.
pub(crate) use codex_ls::fuzzing::fake_app_server::prompted::{OUTPUT_LINE_BYTES, StreamSpec};

/// One streamed run as the client sees it.
pub(crate) struct StreamRun {
    pub(crate) token: String,
    pub(crate) spec: StreamSpec,
    pub(crate) gate_open: bool,
    /// The concatenated deltas of the reports since the last reset.
    pub(crate) text: String,
    /// The next delta expected, by its sequence number.
    pub(crate) next: usize,
    /// Every delta came once, in order, and every report's `seq` was the
    /// previous one's plus one.
    pub(crate) in_order: bool,
    pub(crate) last_seq: u64,
    pub(crate) resets: usize,
    pub(crate) report_times: Vec<Instant>,
    pub(crate) deltas_per_report: Vec<usize>,
    /// A delta written less than this long after the client read the
    /// previous report may have waited for the coalescing window (the
    /// interval plus one tick of tokio's 1 ms timer); see `take_report`.
    pub(crate) window_ns: u64,
    pub(crate) prev_report_ns: u64,
    /// Per delta that cannot have waited for the window: from the fake's
    /// write to the client's read, ms.
    pub(crate) latencies: Vec<f64>,
    /// Deltas left out of `latencies` because they may have waited.
    pub(crate) held: usize,
    /// Per report: write → read of the newest delta it carries, ms.
    pub(crate) newest: Vec<f64>,
    /// When the first delta was sent (mono ns).
    pub(crate) first_sent: Option<u64>,
    pub(crate) end: Option<Value>,
    /// Bytes of command output the reports' steps carried (their
    /// `outputDelta`s and `outputSkipped`s).
    pub(crate) output_bytes: usize,
}

impl StreamRun {
    /// `interval_ms`: the run's `progressIntervalMs` (`None` for the relay,
    /// which has no window).
    pub(crate) fn new(
        token: &str,
        count: usize,
        gap_us: u64,
        interval_ms: Option<u64>,
        dir: &Path,
    ) -> StreamRun {
        let gate = dir.join(format!("gate-{token}"));
        let _ = std::fs::remove_file(&gate);
        StreamRun {
            token: token.to_string(),
            spec: StreamSpec {
                count,
                gap_us,
                gate,
                output: false,
            },
            gate_open: false,
            text: String::new(),
            next: 0,
            in_order: true,
            last_seq: 0,
            resets: 0,
            report_times: Vec::new(),
            deltas_per_report: Vec::new(),
            window_ns: interval_ms.map_or(0, |ms| (ms + 1) * 1_000_000),
            prev_report_ns: 0,
            latencies: Vec::new(),
            held: 0,
            newest: Vec::new(),
            first_sent: None,
            end: None,
            output_bytes: 0,
        }
    }

    pub(crate) fn open_gate(&mut self) {
        if !self.gate_open {
            std::fs::write(&self.spec.gate, b"").expect("create the gate file");
            self.gate_open = true;
        }
    }

    /// Takes one report read at `at` (`at_ns` in mono ns).
    ///
    /// The coalescing window is left out of the latency this way: codex-ls
    /// holds a delta back only while its previous report went out less than
    /// the interval ago. A delta written at least the interval plus one
    /// timer tick after the client read the previous report (which left
    /// codex-ls before that) reached codex-ls with the window over, so all
    /// of its latency is relay work. The other deltas are counted in `held`.
    pub(crate) fn take_report(&mut self, at: Instant, at_ns: u64, codex: &Value) {
        let delta = codex["delta"].as_str().unwrap_or("");
        for item in codex["items"].as_array().into_iter().flatten() {
            self.output_bytes += item["outputDelta"].as_str().map_or(0, str::len)
                + item["outputSkipped"].as_u64().unwrap_or(0) as usize;
        }
        if codex["reset"] == true {
            self.resets += 1;
            self.text.clear();
        }
        let seq = codex["seq"].as_u64().unwrap_or(0);
        if seq != self.last_seq + 1 {
            self.in_order = false;
        }
        self.last_seq = seq;
        self.text.push_str(delta);
        self.report_times.push(at);
        let mut carried = 0;
        let mut newest = None;
        for record in delta.split_terminator(';') {
            let parsed = record
                .split_once(':')
                .and_then(|(n, t)| Some((n.parse::<usize>().ok()?, t.parse::<u64>().ok()?)));
            match parsed {
                Some((n, sent)) if n == self.next => {
                    self.next += 1;
                    self.first_sent.get_or_insert(sent);
                    let latency = at_ns.saturating_sub(sent) as f64 / 1e6;
                    if sent >= self.prev_report_ns + self.window_ns {
                        self.latencies.push(latency);
                    } else {
                        self.held += 1;
                    }
                    newest = Some(latency);
                    carried += 1;
                }
                _ => self.in_order = false,
            }
        }
        self.deltas_per_report.push(carried);
        self.newest.extend(newest);
        self.prev_report_ns = at_ns;
        if self.next == self.spec.count {
            self.open_gate();
        }
    }

    /// Every delta the fake sent arrived, once, in order, and the end report
    /// says the same text.
    pub(crate) fn lossless(&self) -> bool {
        let Some(end) = &self.end else { return false };
        let codex = &end["codex"];
        let output = self.spec.count * OUTPUT_LINE_BYTES;
        self.in_order
            && self.next == self.spec.count
            && self.resets == 0
            && (!self.spec.output || self.output_bytes == output)
            && codex["status"] == "completed"
            && codex["assistantText"].as_str() == Some(self.text.as_str())
    }

    /// The most reports that arrived within any `window`.
    pub(crate) fn max_reports_in(&self, window: Duration) -> usize {
        let times = &self.report_times;
        let mut most = 0;
        let mut first = 0;
        for last in 0..times.len() {
            while times[last] - times[first] >= window {
                first += 1;
            }
            most = most.max(last - first + 1);
        }
        most
    }

    /// Reports per second between the first and the last report.
    pub(crate) fn mean_rate(&self) -> f64 {
        match (self.report_times.first(), self.report_times.last()) {
            (Some(first), Some(last)) if last > first => {
                (self.report_times.len() - 1) as f64 / (*last - *first).as_secs_f64()
            }
            _ => f64::NAN,
        }
    }
}

/// Reads the server's messages until every run has ended, handing each run
/// its reports. Answers server requests; a response to a request of ours
/// must not be an error.
pub(crate) fn collect_streams(lsp: &mut Lsp, runs: &mut [StreamRun], clock: &MonoClock) {
    let deadline = Instant::now() + WAIT;
    let mut last_progress = Instant::now();
    while runs.iter().any(|run| run.end.is_none()) {
        let quiet_until = (last_progress + STREAM_QUIET).min(deadline);
        let Some((at, msg)) = lsp.recv(quiet_until) else {
            assert!(
                Instant::now() < deadline,
                "the streamed runs did not end in {WAIT:?}"
            );
            // Something was lost: let the runs end so it is counted.
            for run in runs.iter_mut().filter(|run| !run.gate_open) {
                eprintln!(
                    "lsp bench: run {} saw {} of {} deltas; opening its gate",
                    run.token, run.next, run.spec.count
                );
                run.open_gate();
            }
            last_progress = Instant::now();
            continue;
        };
        if msg.get("method").is_none() {
            assert!(msg.get("error").is_none(), "a request failed: {msg}");
            continue;
        }
        if msg["method"] != "$/progress" {
            continue;
        }
        let params = &msg["params"];
        let Some(run) = runs.iter_mut().find(|run| params["token"] == run.token) else {
            continue;
        };
        last_progress = Instant::now();
        match params["value"]["kind"].as_str() {
            Some("report") => run.take_report(at, clock.ns(at), &params["value"]["codex"]),
            Some("end") => run.end = Some(params["value"].clone()),
            _ => {}
        }
    }
}

/// Opens `name` in `dir` with the same text on disk: no snapshot is needed.
pub(crate) fn open_clean_doc(lsp: &mut Lsp, dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    let text = "fn streamed() {}\n";
    std::fs::write(&path, text).unwrap();
    let uri = format!("file://{}", path.display());
    lsp.notify(
        "textDocument/didOpen",
        did_open(&uri, text, 1)["params"].clone(),
    );
    uri
}

pub(crate) fn start_stream(lsp: &mut Lsp, uri: &str, run: &StreamRun) {
    let args = json!({
        "textDocument": {"uri": uri}, "prompt": run.spec.prompt(), "progressToken": run.token,
    });
    lsp.send_request(
        "workspace/executeCommand",
        json!({"command": "codex.run", "arguments": [args]}),
    );
}

/// Streams one run of `count` deltas `gap_us` apart through codex-ls, whose
/// `progressIntervalMs` is `interval_ms`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn one_stream(
    lsp: &mut Lsp,
    uri: &str,
    dir: &Path,
    token: &str,
    count: usize,
    gap_us: u64,
    interval_ms: u64,
    clock: &MonoClock,
) -> StreamRun {
    let mut run = StreamRun::new(token, count, gap_us, Some(interval_ms), dir);
    start_stream(lsp, uri, &run);
    collect_streams(lsp, std::slice::from_mut(&mut run), clock);
    run
}

/// One stream through the null relay: the pipe-hop floor. With `output`,
/// the fake also writes a command's output, which the relay reads and drops.
pub(crate) fn relay_floor(
    dir: &Path,
    count: usize,
    gap_us: u64,
    output: bool,
    clock: &MonoClock,
) -> StreamRun {
    let mut run = StreamRun::new("relay", count, gap_us, None, dir);
    run.spec.output = output;
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .arg("null-relay")
        .arg(count.to_string())
        .arg(gap_us.to_string())
        .arg(&run.spec.gate)
        .arg(if output { "output" } else { "text" });
    let mut relay = Lsp::spawn(command);
    collect_streams(&mut relay, std::slice::from_mut(&mut run), clock);
    relay.wait_exit();
    // The relay reads the output and drops it by design: only its text has
    // to arrive whole.
    run.spec.output = false;
    run
}

/// From the first delta's write to the last report's read, in s.
pub(crate) fn relay_secs(run: &StreamRun, clock: &MonoClock) -> f64 {
    let first = run.first_sent.unwrap_or(0);
    let last = run.report_times.last().map_or(first, |t| clock.ns(*t));
    last.saturating_sub(first) as f64 / 1e9
}

/// 6a. Latency: `progressIntervalMs` 1 and deltas 4 ms apart, so (nearly)
/// no delta waits for the coalescing window, against the null relay's
/// floor. Then a flood, written as fast as the fake app-server can.
pub(crate) fn scenario_stream_latency(summary: &mut Summary, dir: &Path) {
    let clock = MonoClock::new();
    let mut lsp = Lsp::codex_ls();
    lsp.initialize_with(json!({"progressIntervalMs": 1}));
    let uri = open_clean_doc(&mut lsp, dir, "stream-latency.txt");
    // Starts the app-server and the document's thread; not measured.
    let warm = one_stream(&mut lsp, &uri, dir, "warm", 20, PACED_GAP_US, 1, &clock);
    assert!(warm.lossless(), "the warm-up stream was not lossless");
    let paced = one_stream(
        &mut lsp,
        &uri,
        dir,
        "paced",
        PACED_DELTAS,
        PACED_GAP_US,
        1,
        &clock,
    );
    let flood = one_stream(&mut lsp, &uri, dir, "flood", FLOOD_DELTAS, 0, 1, &clock);
    lsp.shutdown();
    let paced_floor = relay_floor(dir, PACED_DELTAS, PACED_GAP_US, false, &clock);
    let flood_floor = relay_floor(dir, FLOOD_DELTAS, 0, false, &clock);

    let lat = sorted(paced.latencies.clone());
    let floor = sorted(paced_floor.latencies.clone());
    let (l50, l99, f50, f99) = (
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        percentile(&floor, 50.0),
        percentile(&floor, 99.0),
    );
    let bunched = paced.deltas_per_report.iter().filter(|&&n| n > 1).count();
    println!(
        "6 stream     paced: {PACED_DELTAS} deltas {:.0} ms apart, progressIntervalMs 1, fake app-server write → client read per delta: codex-ls p50 {l50:.3} ms p99 {l99:.3} ms max {:.3} ms over the {} deltas that cannot have waited for the window ({} that may have are left out; reports carrying more than one delta: {bunched} of {}) | floor (null relay, same two pipe hops) p50 {f50:.3} ms p99 {f99:.3} ms max {:.3} ms | lossless: {}",
        PACED_GAP_US as f64 / 1e3,
        lat.last().copied().unwrap_or(f64::NAN),
        lat.len(),
        paced.held,
        paced.deltas_per_report.len(),
        floor.last().copied().unwrap_or(f64::NAN),
        verdict(paced.lossless() && paced_floor.lossless()),
    );
    let flood_newest = sorted(flood.newest.clone());
    let floor_newest = sorted(flood_floor.newest.clone());
    println!(
        "  flood: {FLOOD_DELTAS} deltas written as fast as the fake can, progressIntervalMs 1: codex-ls relayed them in {:.1} ms ({:.0} deltas/s) in {} reports ({:.1} deltas per report), newest delta of each report write → read p50 {:.3} ms p99 {:.3} ms, lossless: {} | floor (null relay) {:.1} ms, newest p50 {:.3} ms p99 {:.3} ms",
        relay_secs(&flood, &clock) * 1e3,
        FLOOD_DELTAS as f64 / relay_secs(&flood, &clock),
        flood.report_times.len(),
        FLOOD_DELTAS as f64 / flood.report_times.len().max(1) as f64,
        percentile(&flood_newest, 50.0),
        percentile(&flood_newest, 99.0),
        verdict(flood.lossless()),
        relay_secs(&flood_floor, &clock) * 1e3,
        percentile(&floor_newest, 50.0),
        percentile(&floor_newest, 99.0),
    );
    let (n50, n99) = (l50 - f50, l99 - f99);
    summary.add(format!(
        "6 relay latency:  paced p50 {l50:.3} ms - floor {f50:.3} = {n50:.3} ms vs ≤ {STREAM_LATENCY_P50_MS} ms: {}; p99 {l99:.3} - {f99:.3} = {n99:.3} ms vs ≤ {STREAM_LATENCY_P99_MS} ms: {}; lossless (paced, flood): {}",
        verdict(n50 <= STREAM_LATENCY_P50_MS),
        verdict(n99 <= STREAM_LATENCY_P99_MS),
        verdict(paced.lossless() && flood.lossless()),
    ));
    let (fl50, fl99, ff50, ff99) = (
        percentile(&flood_newest, 50.0),
        percentile(&flood_newest, 99.0),
        percentile(&floor_newest, 50.0),
        percentile(&floor_newest, 99.0),
    );
    summary.add(format!(
        "6 relay flood:    newest delta per report p50 {fl50:.3} ms - floor {ff50:.3} = {:.3} ms vs ≤ {STREAM_LATENCY_P50_MS} ms: {}; p99 {fl99:.3} - {ff99:.3} = {:.3} ms vs ≤ {STREAM_LATENCY_P99_MS} ms: {} (upper bounds: they include time queued in the input pipe)",
        fl50 - ff50,
        verdict(fl50 - ff50 <= STREAM_LATENCY_P50_MS),
        fl99 - ff99,
        verdict(fl99 - ff99 <= STREAM_LATENCY_P99_MS),
    ));
}

/// 6b. 10 runs at once, 1,000 deltas per second each, default interval:
/// losslessness, reports per second and server CPU.
pub(crate) fn scenario_stream_load(summary: &mut Summary, dir: &Path) {
    let clock = MonoClock::new();
    let mut lsp = Lsp::codex_ls();
    lsp.initialize();
    let uris: Vec<String> = (0..CONCURRENT_RUNS)
        .map(|i| open_clean_doc(&mut lsp, dir, &format!("stream-{i}.txt")))
        .collect();
    let interval = Some(DEFAULT_PROGRESS_INTERVAL_MS);
    // Starts the app-server and each document's thread; not measured.
    let mut warm: Vec<StreamRun> = (0..CONCURRENT_RUNS)
        .map(|i| StreamRun::new(&format!("warm-{i}"), 5, 0, interval, dir))
        .collect();
    for (uri, run) in uris.iter().zip(&warm) {
        start_stream(&mut lsp, uri, run);
    }
    collect_streams(&mut lsp, &mut warm, &clock);
    assert!(warm.iter().all(StreamRun::lossless));
    let mut runs: Vec<StreamRun> = (0..CONCURRENT_RUNS)
        .map(|i| {
            let token = format!("run-{i}");
            StreamRun::new(&token, CONCURRENT_DELTAS, CONCURRENT_GAP_US, interval, dir)
        })
        .collect();
    let cpu0 = lsp.cpu_ms();
    let started = Instant::now();
    for (uri, run) in uris.iter().zip(&runs) {
        start_stream(&mut lsp, uri, run);
    }
    collect_streams(&mut lsp, &mut runs, &clock);
    let wall = started.elapsed();
    let cpu = lsp.cpu_ms() - cpu0;
    lsp.shutdown();
    let limit = (1000 / DEFAULT_PROGRESS_INTERVAL_MS) as usize;
    let most = runs
        .iter()
        .map(|r| r.max_reports_in(Duration::from_secs(1)))
        .max()
        .unwrap_or(0);
    let rates = sorted(runs.iter().map(StreamRun::mean_rate).collect());
    let counts: Vec<usize> = runs.iter().map(|r| r.report_times.len()).collect();
    let lossless = runs.iter().filter(|r| r.lossless()).count();
    let share = cpu / ms(wall);
    let newest = sorted(runs.iter().flat_map(|r| r.newest.clone()).collect());
    println!(
        "6 concurrent {CONCURRENT_RUNS} runs × {CONCURRENT_DELTAS} deltas at {:.0}/s each, progressIntervalMs {DEFAULT_PROGRESS_INTERVAL_MS}: wall {:.0} ms | server CPU {cpu:.0} ms = {:.1}% of one core | reports per run {}..{}, mean {:.1}..{:.1}/s, most in any 1 s window {most} | lossless runs {lossless}/{CONCURRENT_RUNS} | newest delta of each report write → read p50 {:.3} ms p99 {:.3} ms",
        1e6 / CONCURRENT_GAP_US as f64,
        ms(wall),
        share * 100.0,
        counts.iter().min().unwrap_or(&0),
        counts.iter().max().unwrap_or(&0),
        rates.first().copied().unwrap_or(f64::NAN),
        rates.last().copied().unwrap_or(f64::NAN),
        percentile(&newest, 50.0),
        percentile(&newest, 99.0),
    );
    summary.add(format!(
        "6 relay 10 runs:  lossless {lossless}/{CONCURRENT_RUNS}: {}; most reports in 1 s per run {most} vs ≤ {limit}: {}; server CPU {:.1}% vs ≤ {:.0}%: {}",
        verdict(lossless == CONCURRENT_RUNS),
        verdict(most <= limit),
        share * 100.0,
        STREAM_CPU_SHARE * 100.0,
        verdict(share <= STREAM_CPU_SHARE),
    ));
}

/// 6c. The paced stream of 6a with a command step running beside the
/// answer (a line of its output after each delta, as when the agent runs a
/// build): the answer's relay latency over the same floor, and both the
/// text and the output lossless.
pub(crate) fn scenario_stream_steps(summary: &mut Summary, dir: &Path) {
    let clock = MonoClock::new();
    let mut lsp = Lsp::codex_ls();
    lsp.initialize_with(json!({"progressIntervalMs": 1}));
    let uri = open_clean_doc(&mut lsp, dir, "stream-steps.txt");
    let warm = one_stream(&mut lsp, &uri, dir, "warm", 20, PACED_GAP_US, 1, &clock);
    assert!(warm.lossless(), "the warm-up stream was not lossless");
    let mut run = StreamRun::new("steps", PACED_DELTAS, PACED_GAP_US, Some(1), dir);
    run.spec.output = true;
    start_stream(&mut lsp, &uri, &run);
    collect_streams(&mut lsp, std::slice::from_mut(&mut run), &clock);
    lsp.shutdown();
    let floor = relay_floor(dir, PACED_DELTAS, PACED_GAP_US, true, &clock);
    let lat = sorted(run.latencies.clone());
    let floor_lat = sorted(floor.latencies.clone());
    let (l50, l99, f50, f99) = (
        percentile(&lat, 50.0),
        percentile(&lat, 99.0),
        percentile(&floor_lat, 50.0),
        percentile(&floor_lat, 99.0),
    );
    println!(
        "6 steps      paced with a command's output: {PACED_DELTAS} deltas {:.0} ms apart, each followed by a {OUTPUT_LINE_BYTES}-byte line of output: codex-ls p50 {l50:.3} ms p99 {l99:.3} ms over {} deltas | floor (null relay reading the same lines) p50 {f50:.3} ms p99 {f99:.3} ms | output relayed {} of {} bytes | lossless: {}",
        PACED_GAP_US as f64 / 1e3,
        lat.len(),
        run.output_bytes,
        PACED_DELTAS * OUTPUT_LINE_BYTES,
        verdict(run.lossless() && floor.lossless()),
    );
    let (n50, n99) = (l50 - f50, l99 - f99);
    summary.add(format!(
        "6 relay + steps:  paced p50 {l50:.3} ms - floor {f50:.3} = {n50:.3} ms vs ≤ {STREAM_LATENCY_P50_MS} ms: {}; p99 {l99:.3} - {f99:.3} = {n99:.3} ms vs ≤ {STREAM_LATENCY_P99_MS} ms: {}; lossless (text and output): {}",
        verdict(n50 <= STREAM_LATENCY_P50_MS),
        verdict(n99 <= STREAM_LATENCY_P99_MS),
        verdict(run.lossless()),
    ));
}
