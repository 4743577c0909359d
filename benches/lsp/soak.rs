//! Scenario 7: a soak of runs one after another.

use super::*;

pub(crate) fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

/// Snapshot directories of codex-ls `pid` in the temp dir.
pub(crate) fn snapshot_dirs(pid: u32) -> usize {
    let prefix = format!("codex-ls-run-{pid}-");
    std::fs::read_dir(std::env::temp_dir()).map_or(0, |dir| {
        dir.flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .count()
    })
}

/// Waits for the end report of `token`; the response to the command `id`
/// must not be an error.
pub(crate) fn wait_end(lsp: &mut Lsp, id: i64, token: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, msg) = lsp
            .recv(deadline)
            .unwrap_or_else(|| panic!("run {token} did not end in {WAIT:?}"));
        if msg.get("method").is_none() && msg["id"] == json!(id) {
            assert!(msg.get("error").is_none(), "codex.run failed: {msg}");
        } else if msg["method"] == "$/progress"
            && msg["params"]["token"] == token
            && msg["params"]["value"]["kind"] == "end"
        {
            return msg["params"]["value"].clone();
        }
    }
}

pub(crate) struct SoakPoint {
    pub(crate) runs: usize,
    pub(crate) rss_kb: u64,
    pub(crate) fds: usize,
    pub(crate) threads: u64,
}

impl SoakPoint {
    pub(crate) fn take(lsp: &Lsp, runs: usize) -> SoakPoint {
        SoakPoint {
            runs,
            rss_kb: rss_kb(lsp.pid),
            fds: fd_count(lsp.pid),
            threads: status_kb(lsp.pid, "Threads:"),
        }
    }
}

pub(crate) fn scenario_soak(summary: &mut Summary, dir: &Path) {
    let path = dir.join("soak.txt");
    std::fs::write(&path, "what is on disk\n").unwrap();
    let uri = format!("file://{}", path.display());
    let mut rng = Rng(0x50A4_0000_0000_0007);
    let mut model = Model {
        lines: random_lines(&mut rng, SOAK_DOC_BYTES),
    };
    let mut lsp = Lsp::codex_ls();
    lsp.initialize();
    lsp.notify(
        "textDocument/didOpen",
        did_open(&uri, &model.text(), 1)["params"].clone(),
    );
    let mut points = vec![SoakPoint::take(&lsp, 0)];
    // Lines 2-4 are selected; line 1 changes before every run, so every
    // run's buffer differs from the disk and from the run before.
    let selection =
        json!({"start": {"line": 1, "character": 0}, "end": {"line": 4, "character": 0}});
    let selected: String = model.lines[1..4].iter().map(|l| format!("{l}\n")).collect();
    let (mut wrong, mut left_behind) = (0, 0);
    let cpu0 = lsp.cpu_ms();
    let started = Instant::now();
    for i in 0..SOAK_RUNS {
        let version = i as i32 + 2;
        let old = utf16_len(&model.lines[0]);
        model.lines[0] = format!("// run {i}");
        lsp.notify(
            "textDocument/didChange",
            json!({
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": old}}, "text": model.lines[0]}],
            }),
        );
        let token = format!("soak-{i}");
        let args = json!({
            "textDocument": {"uri": uri, "version": version}, "range": selection,
            "prompt": "Explain this.", "progressToken": token,
        });
        let id = lsp.send_request(
            "workspace/executeCommand",
            json!({"command": "codex.run", "arguments": [args]}),
        );
        let end = wait_end(&mut lsp, id, &token);
        // The fake answers with the fingerprints of the snapshots it read.
        let answer = end["codex"]["assistantText"].as_str().unwrap_or("");
        if end["codex"]["status"] != "completed"
            || !answer.contains(&fingerprint(model.text().as_bytes()))
            || !answer.contains(&fingerprint(selected.as_bytes()))
        {
            wrong += 1;
            if wrong == 1 {
                eprintln!("lsp bench: soak run {i} ended with {end}");
            }
        }
        // Snapshots are removed before the end report is sent.
        left_behind += snapshot_dirs(lsp.pid);
        if [1, 100, SOAK_RUNS].contains(&(i + 1)) {
            points.push(SoakPoint::take(&lsp, i + 1));
        }
    }
    let wall = started.elapsed();
    let cpu = lsp.cpu_ms() - cpu0;
    let peak = peak_kb(lsp.pid);
    lsp.shutdown();
    let at = |runs: usize| points.iter().find(|p| p.runs == runs).unwrap();
    let (first, hundredth, last) = (at(1), at(100), at(SOAK_RUNS));
    let drift = last.rss_kb as f64 / hundredth.rss_kb as f64 - 1.0;
    println!(
        "7 soak       {SOAK_RUNS} runs one after another (dirty buffer + selection: 2 snapshot files per run): wall {:.0} ms ({:.2} ms/run) | server CPU {cpu:.0} ms | {} | peak RSS {:.1} MiB | snapshot dirs found after runs ended: {left_behind} | runs with a wrong or failed answer: {wrong}",
        ms(wall),
        ms(wall) / SOAK_RUNS as f64,
        points
            .iter()
            .map(|p| format!(
                "after {} runs: RSS {:.2} MiB, fds {}, threads {}",
                p.runs,
                mib(p.rss_kb),
                p.fds,
                p.threads
            ))
            .collect::<Vec<_>>()
            .join("; "),
        mib(peak),
    );
    summary.add(format!(
        "7 soak:           RSS after {SOAK_RUNS} runs vs after 100: {:+.1}% vs within {:.0}%: {}; fds after run 1 {}, after run {SOAK_RUNS} {}: {}; snapshot dirs left {left_behind}: {}; answers right: {}",
        drift * 100.0,
        SOAK_RSS_DRIFT * 100.0,
        verdict(drift.abs() <= SOAK_RSS_DRIFT),
        first.fds,
        last.fds,
        verdict(last.fds <= first.fds),
        verdict(left_behind == 0),
        verdict(wrong == 0),
    ));
}

pub(crate) fn last_range_of_nothing() -> Value {
    json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}})
}
