//! Scenarios 1 to 5: startup, open, edit storm, latency, many documents.

use super::*;

pub(crate) fn scenario_startup(summary: &mut Summary) {
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..STARTUP_SPAWNS {
        let mut lsp = Lsp::codex_ls();
        walls.push(ms(lsp.initialize()));
        cpus.push(lsp.cpu_ms());
        peaks.push(peak_kb(lsp.pid) as f64);
        lsp.shutdown();
    }
    let (walls, cpus, peaks) = (sorted(walls), sorted(cpus), sorted(peaks));
    let p50 = percentile(&walls, 50.0);
    println!(
        "1 startup    spawn→initialize response over {STARTUP_SPAWNS} spawns: p50 {p50:.2} ms, p99 {:.2} ms, min {:.2} ms | server CPU p50 {:.1} ms | peak RSS p50 {:.1} MiB",
        percentile(&walls, 99.0),
        walls[0],
        percentile(&cpus, 50.0),
        mib(percentile(&peaks, 50.0) as u64),
    );
    summary.add(format!(
        "1 startup:        median {p50:.2} ms vs ≤ {STARTUP_TARGET_MS} ms: {}",
        verdict(p50 <= STARTUP_TARGET_MS)
    ));
}

/// The idle round-trip of a `codeAction` request (median).
pub(crate) fn idle_rtt_ms(lsp: &mut Lsp, uri: &str) -> f64 {
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}});
    let samples = (0..IDLE_RTT_SAMPLES)
        .map(|_| {
            ms(lsp
                .request(
                    "textDocument/codeAction",
                    code_action_params(uri, range.clone()),
                )
                .1)
        })
        .collect();
    percentile(&sorted(samples), 50.0)
}

/// One open of the big document on a fresh server (scenario 2).
pub(crate) struct OpenSample {
    /// Until a request sent right after the `didOpen` is answered, minus
    /// that request's idle round-trip.
    pub(crate) ms: f64,
    pub(crate) rtt: f64,
    pub(crate) cpu: f64,
    pub(crate) rss0: f64,
    pub(crate) rss1: f64,
    pub(crate) peak0: f64,
    pub(crate) peak1: f64,
}

pub(crate) fn open_sample(mut lsp: Lsp, uri: &str, open_msg: &[u8]) -> (Lsp, OpenSample) {
    lsp.initialize();
    let rtt = idle_rtt_ms(&mut lsp, uri);
    let (rss0, peak0, cpu0) = (rss_kb(lsp.pid), peak_kb(lsp.pid), lsp.cpu_ms());
    let started = Instant::now();
    lsp.write(open_msg);
    let probe = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}});
    let id = lsp.send_request("textDocument/codeAction", code_action_params(uri, probe));
    let (answered, _) = lsp.wait_response(id);
    let sample = OpenSample {
        ms: ms(answered - started) - rtt,
        rtt,
        cpu: lsp.cpu_ms() - cpu0,
        rss0: rss0 as f64,
        rss1: rss_kb(lsp.pid) as f64,
        peak0: peak0 as f64,
        peak1: peak_kb(lsp.pid) as f64,
    };
    (lsp, sample)
}

/// Scenarios 2, 3 and 4 share one server and the client's model of the
/// document.
pub(crate) fn scenarios_open_storm_latency(summary: &mut Summary, dir: &Path) {
    // 2. Open a 5 MiB document.
    let uri = format!("file://{}/big.txt", dir.display());
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut model = Model {
        lines: random_lines(&mut rng, BIG_DOC_BYTES),
    };
    let text = model.text();
    let open_msg = frame(&did_open(&uri, &text, 1));
    // The physical limit of the open, on the very same frame.
    let (limit_open_ms, mut limit_rope) = limit::open_median(&open_msg, OPEN_SAMPLES);
    // Each sample opens the document on a fresh server, as an editor does
    // once; the last codex-ls and the last null server go on to 3 and 4.
    let mut samples = Vec::new();
    let mut floors = Vec::new();
    let mut servers = None;
    for _ in 0..OPEN_SAMPLES {
        let (lsp, sample) = open_sample(Lsp::codex_ls(), &uri, &open_msg);
        samples.push(sample);
        let (null, floor) = open_sample(Lsp::null_server(), &uri, &open_msg);
        floors.push(floor.ms);
        if let Some((lsp, null)) = servers.replace((lsp, null)) {
            lsp.shutdown();
            null.shutdown();
        }
    }
    let (mut lsp, mut null) = servers.expect("at least one sample");
    let median =
        |f: fn(&OpenSample) -> f64| percentile(&sorted(samples.iter().map(f).collect()), 50.0);
    let open_ms = median(|s| s.ms);
    let null_open_ms = percentile(&sorted(floors), 50.0);
    let doc_kb = text.len() as f64 / 1024.0;
    let (rss0, rss1) = (median(|s| s.rss0), median(|s| s.rss1));
    let (peak0, peak1) = (median(|s| s.peak0), median(|s| s.peak1));
    let retained = (rss1 - rss0) / doc_kb;
    let peak = (peak1 - peak0) / doc_kb;
    println!(
        "2 open       didOpen of {:.2} MiB ({} lines, {} chars, {} UTF-16 units), medians of {OPEN_SAMPLES} fresh servers: {open_ms:.1} ms (until a request sent right after it is answered, minus its idle round-trip {:.3} ms) | server CPU {:.1} ms | retained RSS (VmRSS after the answer) {:.1}→{:.1} MiB (+{retained:.2}× doc) | peak RSS (VmHWM) {:.1}→{:.1} MiB (+{peak:.2}× doc) | floor: the do-nothing server (reads the frame, parses it into a serde_json Value) takes {null_open_ms:.1} ms",
        doc_kb / 1024.0,
        model.lines.len(),
        text.chars().count(),
        utf16_len(&text),
        median(|s| s.rtt),
        median(|s| s.cpu),
        mib(rss0 as u64),
        mib(rss1 as u64),
        mib(peak0 as u64),
        mib(peak1 as u64),
    );
    let open_cpu = median(|s| s.cpu);
    println!(
        "  physical limit of the open (in-process serde_json into DidOpenTextDocumentParams + Rope::from_str, median of {OPEN_SAMPLES}): {limit_open_ms:.1} ms CPU; codex-ls server CPU {open_cpu:.1} ms = {:.2}× the limit",
        open_cpu / limit_open_ms
    );
    summary.add(format!(
        "2 open:           server CPU {open_cpu:.1} ms = {:.2}× the physical limit {limit_open_ms:.1} ms vs ≤ {LIMIT_FACTOR}×: {}, vs ≤ {OPEN_CPU_TARGET_MS} ms: {}; retained RSS growth {retained:.2}× doc vs ≤ {OPEN_RSS_FACTOR}×: {} (wall {open_ms:.1} ms, do-nothing floor {null_open_ms:.1} ms; peak growth {peak:.2}×, transient)",
        open_cpu / limit_open_ms,
        verdict(open_cpu <= LIMIT_FACTOR * limit_open_ms),
        verdict(open_cpu <= OPEN_CPU_TARGET_MS),
        verdict(retained <= OPEN_RSS_FACTOR),
    ));
    drop(text);

    // 3. Edit storm.
    let storm_a = storm(&mut rng, &mut model, &uri, 2, STORM_EDITS, None);
    let limit_storm_ms = limit::storm(&storm_a, &mut limit_rope);
    let limit_equal = limit_rope == model.text().as_str();
    drop(limit_rope);
    let mut version = 1 + STORM_EDITS as i32;
    let bytes: usize = storm_a.iter().map(|m| m.bytes.len()).sum();
    let last_range = model.last_line_range();
    let result = run_storm(&mut lsp, &storm_a, &uri, last_range.clone());
    // The check the brief proposed: the code action echoes the range it was
    // given (the handler does not read the document).
    let (answer, _) = lsp.request(
        "textDocument/codeAction",
        code_action_params(&uri, last_range.clone()),
    );
    let echoed = if last_range["start"] == last_range["end"] {
        answer["result"].is_null()
    } else {
        answer["result"][0]["command"]["arguments"][0]["range"] == last_range
    };
    let expected = fingerprint(model.text().as_bytes());
    let actual = server_fingerprint(&mut lsp, &uri, version, "verify-a");
    let equal = actual == expected;
    println!(
        "3 edit storm {STORM_EDITS} didChange ({:.1} MiB of JSON) + 1 codeAction: wall {:.1} ms | server CPU {:.1} ms | peak RSS {:.1} MiB | codeAction range echo {} | server text {} client model ({expected}; server: {actual})",
        bytes as f64 / 1048576.0,
        ms(result.wall),
        result.cpu_ms,
        mib(peak_kb(lsp.pid)),
        if echoed { "ok" } else { "WRONG" },
        if equal { "==" } else { "!=" },
    );
    println!(
        "  physical limit of the storm (in-process serde_json into DidChangeTextDocumentParams + Rope edits, UTF-16): {limit_storm_ms:.1} ms CPU (rope text {} the client model); codex-ls server CPU {:.1} ms = {:.2}× the limit",
        if limit_equal { "==" } else { "!=" },
        result.cpu_ms,
        result.cpu_ms / limit_storm_ms,
    );
    summary.add(format!(
        "3 edit storm:     server CPU {:.1} ms = {:.2}× the physical limit {limit_storm_ms:.1} ms vs ≤ {LIMIT_FACTOR}×: {}, vs ≤ {STORM_CPU_TARGET_MS} ms: {}; text equal: {}",
        result.cpu_ms,
        result.cpu_ms / limit_storm_ms,
        verdict(result.cpu_ms <= LIMIT_FACTOR * limit_storm_ms),
        verdict(result.cpu_ms <= STORM_CPU_TARGET_MS),
        verdict(equal && limit_equal),
    ));

    // 4. Latency under load: the same storm with probes, against the
    // do-nothing server (floor) and codex-ls.
    // Rounds alternate between the two servers to spread the machine's noise.
    let (mut floor, mut load) = (Vec::new(), Vec::new());
    let (mut floor_cpu, mut load_cpu, mut floor_wall, mut load_wall) = (0.0, 0.0, 0.0, 0.0);
    for round in 0..LATENCY_ROUNDS {
        let first_id = 1_000_000 * (round as i64 + 1);
        let storm_b = storm(
            &mut rng,
            &mut model,
            &uri,
            version + 1,
            STORM_EDITS,
            Some((PROBE_EVERY, first_id)),
        );
        version += STORM_EDITS as i32;
        let last_range = model.last_line_range();
        let f = run_storm(&mut null, &storm_b, &uri, last_range.clone());
        let l = run_storm(&mut lsp, &storm_b, &uri, last_range);
        floor.extend(f.latencies_ms);
        load.extend(l.latencies_ms);
        floor_cpu += f.cpu_ms;
        load_cpu += l.cpu_ms;
        floor_wall += ms(f.wall);
        load_wall += ms(l.wall);
    }
    let null_peak = peak_kb(null.pid);
    null.shutdown();
    let expected = fingerprint(model.text().as_bytes());
    let actual = server_fingerprint(&mut lsp, &uri, version, "verify-b");
    let equal_b = actual == expected;
    let (f, l) = (sorted(floor), sorted(load));
    let (f50, f99, l50, l99) = (
        percentile(&f, 50.0),
        percentile(&f, 99.0),
        percentile(&l, 50.0),
        percentile(&l, 99.0),
    );
    println!(
        "4 latency    {} codeAction probes, one per {PROBE_EVERY} edits, in {LATENCY_ROUNDS} storms of {STORM_EDITS} edits per server: floor (do-nothing server) p50 {f50:.3} ms p99 {f99:.3} ms max {:.3} ms, wall {:.1} ms/storm, CPU {:.1} ms/storm, peak RSS {:.1} MiB | codex-ls p50 {l50:.3} ms p99 {l99:.3} ms max {:.3} ms, wall {:.1} ms/storm, server CPU {:.1} ms/storm, peak RSS {:.1} MiB | text after all storms {}",
        l.len(),
        f.last().copied().unwrap_or(f64::NAN),
        floor_wall / LATENCY_ROUNDS as f64,
        floor_cpu / LATENCY_ROUNDS as f64,
        mib(null_peak),
        l.last().copied().unwrap_or(f64::NAN),
        load_wall / LATENCY_ROUNDS as f64,
        load_cpu / LATENCY_ROUNDS as f64,
        mib(peak_kb(lsp.pid)),
        if equal_b { "equal" } else { "DIFFERENT" },
    );
    summary.add(format!(
        "4 latency storm:  p99 {l99:.3} ms = floor {f99:.3} + {:.3} ms vs ≤ +{LATENCY_OVER_FLOOR_MS} ms: {}",
        l99 - f99,
        verdict(l99 - f99 <= LATENCY_OVER_FLOOR_MS),
    ));

    // 4b. Latency at a typing pace, one round per server.
    let gap = Duration::from_micros(1_000_000 / PACED_EDITS_PER_SEC);
    let paced = storm(
        &mut rng,
        &mut model,
        &uri,
        version + 1,
        PACED_EDITS,
        Some((PACED_PROBE_EVERY, 9_000_000)),
    );
    version += PACED_EDITS as i32;
    let last_range = model.last_line_range();
    let mut null = Lsp::null_server();
    null.initialize();
    null.write(&frame(&did_open(&uri, &model.text(), 1)));
    let f = sorted(
        run_paced_storm(&mut null, &paced, &uri, last_range.clone(), Some(gap)).latencies_ms,
    );
    null.shutdown();
    let l = sorted(run_paced_storm(&mut lsp, &paced, &uri, last_range, Some(gap)).latencies_ms);
    let expected = fingerprint(model.text().as_bytes());
    let equal_c = server_fingerprint(&mut lsp, &uri, version, "verify-c") == expected;
    let (f50, f99, l50, l99) = (
        percentile(&f, 50.0),
        percentile(&f, 99.0),
        percentile(&l, 50.0),
        percentile(&l, 99.0),
    );
    println!(
        "4b paced     {} codeAction probes, one per {PACED_PROBE_EVERY} edits, {PACED_EDITS} edits at {PACED_EDITS_PER_SEC} edits/s: floor (do-nothing server) p50 {f50:.3} ms p99 {f99:.3} ms | codex-ls p50 {l50:.3} ms p99 {l99:.3} ms | text {}",
        l.len(),
        if equal_c { "equal" } else { "DIFFERENT" },
    );
    summary.add(format!(
        "4 latency paced:  p50 {l50:.3} ms = floor {f50:.3} + {:.3} ms vs ≤ +{PACED_P50_OVER_FLOOR_MS} ms: {}; p99 {l99:.3} ms = floor {f99:.3} + {:.3} ms vs ≤ +{PACED_P99_OVER_FLOOR_MS} ms: {}",
        l50 - f50,
        verdict(l50 - f50 <= PACED_P50_OVER_FLOOR_MS),
        l99 - f99,
        verdict(l99 - f99 <= PACED_P99_OVER_FLOOR_MS),
    ));
    lsp.shutdown();
}

pub(crate) fn scenario_many_docs(summary: &mut Summary, dir: &Path) {
    // 5. Many documents.
    let mut lsp = Lsp::codex_ls();
    lsp.initialize();
    let (rss0, cpu0) = (rss_kb(lsp.pid), lsp.cpu_ms());
    let started = Instant::now();
    let mut total = 0;
    for i in 0..MANY_DOCS {
        let mut rng = Rng(0xD0C5_0000 + i as u64 * 7919);
        let text = random_lines(&mut rng, SMALL_DOC_BYTES).join("\n");
        total += text.len();
        let uri = format!("file://{}/doc{i}.txt", dir.display());
        lsp.write(&frame(&did_open(&uri, &text, 1)));
    }
    let first = format!("file://{}/doc0.txt", dir.display());
    let (answer, _) = lsp.request(
        "textDocument/codeAction",
        code_action_params(&first, last_range_of_nothing()),
    );
    assert!(answer.get("error").is_none());
    let wall = started.elapsed();
    let (rss1, peak1) = (rss_kb(lsp.pid), peak_kb(lsp.pid));
    println!(
        "5 many docs  {MANY_DOCS} × {:.0} KiB ({:.1} MiB of text): wall {:.1} ms | server CPU {:.1} ms | RSS {:.1}→{:.1} MiB, peak {:.1} MiB",
        total as f64 / MANY_DOCS as f64 / 1024.0,
        total as f64 / 1048576.0,
        ms(wall),
        lsp.cpu_ms() - cpu0,
        mib(rss0),
        mib(rss1),
        mib(peak1),
    );
    summary.add(format!(
        "5 many docs:      peak RSS {:.1} MiB vs ≤ {MANY_DOCS_RSS_MIB} MiB: {} (resident {:.1} MiB: {})",
        mib(peak1),
        verdict(mib(peak1) <= MANY_DOCS_RSS_MIB),
        mib(rss1),
        verdict(mib(rss1) <= MANY_DOCS_RSS_MIB),
    ));
    lsp.shutdown();
}
