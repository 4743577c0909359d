//! The editing workload: a document model, random edits, storms of
//! `didChange` with `codeAction` probes, and the check of the server's text.

use super::*;

pub(crate) const WORDS: &[&str] = &[
    "fn", "let", "x", "=", "(", ")", "{", "}", ";", "café", "é", "→", "😀", "𝄞", "naïve", "日本",
    "🎉", "value", "// ", "→→", "ü", "a😀b",
];
pub(crate) const PIECES: &[&str] = &[
    "a", "b", "z", " ", "é", "→", "😀", "𝄞", "\n", "fn ", "🎉x", "日",
];

pub(crate) fn random_line(rng: &mut Rng, max_bytes: usize) -> String {
    let target = 10 + rng.below(max_bytes);
    let mut line = String::new();
    while line.len() < target {
        line.push_str(WORDS[rng.below(WORDS.len())]);
        if rng.below(3) == 0 {
            line.push(' ');
        }
    }
    line
}

/// Lines (without terminators) of about `bytes` bytes in all, joined by "\n".
pub(crate) fn random_lines(rng: &mut Rng, bytes: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut total = 0;
    while total < bytes {
        let line = random_line(rng, 100);
        total += line.len() + 1;
        lines.push(line);
    }
    lines
}

pub(crate) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Byte offset of the UTF-16 column `col` (a character boundary) in `line`.
pub(crate) fn byte_of_col(line: &str, col: usize) -> usize {
    let mut units = 0;
    for (i, c) in line.char_indices() {
        if units == col {
            return i;
        }
        units += c.len_utf16();
        assert!(units <= col, "column {col} is inside a character");
    }
    assert_eq!(units, col, "column {col} is not a character boundary");
    line.len()
}

/// The client's naive model of the document: one `String` per line, lines
/// separated by "\n".
pub(crate) struct Model {
    pub(crate) lines: Vec<String>,
}

impl Model {
    pub(crate) fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// A random valid UTF-16 column of line `l`; often right before or after
    /// an astral character (a surrogate pair).
    pub(crate) fn random_col(&self, rng: &mut Rng, l: usize) -> usize {
        let line = &self.lines[l];
        let mut boundaries = vec![0];
        let mut astral = Vec::new();
        let mut units = 0;
        for c in line.chars() {
            if c.len_utf16() == 2 {
                astral.push(units);
            }
            units += c.len_utf16();
            boundaries.push(units);
        }
        if !astral.is_empty() && rng.below(3) == 0 {
            let start = astral[rng.below(astral.len())];
            return if rng.below(2) == 0 { start } else { start + 2 };
        }
        boundaries[rng.below(boundaries.len())]
    }

    /// Applies a replacement of (l1, c1)-(l2, c2) by `text`.
    pub(crate) fn apply(&mut self, (l1, c1): (usize, usize), (l2, c2): (usize, usize), text: &str) {
        let b1 = byte_of_col(&self.lines[l1], c1);
        let b2 = byte_of_col(&self.lines[l2], c2);
        let mut joined = String::with_capacity(b1 + text.len() + self.lines[l2].len() - b2);
        joined.push_str(&self.lines[l1][..b1]);
        joined.push_str(text);
        joined.push_str(&self.lines[l2][b2..]);
        let parts: Vec<String> = joined.split('\n').map(str::to_owned).collect();
        if parts.len() == 1 && l1 == l2 {
            self.lines[l1] = parts.into_iter().next().unwrap();
        } else {
            self.lines.splice(l1..=l2, parts);
        }
    }

    /// Generates one random edit, applies it to the model, and returns the
    /// LSP content change.
    pub(crate) fn random_edit(&mut self, rng: &mut Rng) -> Value {
        let l1 = rng.below(self.lines.len());
        let c1 = self.random_col(rng, l1);
        let kind = rng.below(10); // 0..4 insert, 4..7 delete, 7..10 replace
        let (l2, c2) = if kind < 4 {
            (l1, c1)
        } else if rng.below(5) == 0 && l1 + 1 < self.lines.len() {
            // Spans one to three line breaks.
            let l2 = (l1 + 1 + rng.below(3)).min(self.lines.len() - 1);
            (l2, self.random_col(rng, l2))
        } else {
            (l1, self.random_col(rng, l1))
        };
        let ((l1, c1), (l2, c2)) = if (l2, c2) < (l1, c1) {
            ((l2, c2), (l1, c1))
        } else {
            ((l1, c1), (l2, c2))
        };
        let text: String = if (4..7).contains(&kind) {
            String::new()
        } else {
            (0..1 + rng.below(6))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect()
        };
        self.apply((l1, c1), (l2, c2), &text);
        json!({
            "range": {"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}},
            "text": text,
        })
    }

    pub(crate) fn last_line_range(&self) -> Value {
        let last = self.lines.len() - 1;
        json!({
            "start": {"line": last, "character": 0},
            "end": {"line": last, "character": utf16_len(&self.lines[last])},
        })
    }

    /// A whole-line range at a random line, for probes.
    pub(crate) fn random_line_range(&self, rng: &mut Rng) -> Value {
        let l = rng.below(self.lines.len());
        json!({
            "start": {"line": l, "character": 0},
            "end": {"line": l, "character": utf16_len(&self.lines[l]).max(1)},
        })
    }
}

pub(crate) fn did_open(uri: &str, text: &str, version: i32) -> Value {
    json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "plaintext", "version": version, "text": text},
    }})
}

pub(crate) fn code_action_params(uri: &str, range: Value) -> Value {
    json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}})
}

/// One pre-framed message of a storm; probes are requests with an id.
pub(crate) struct Outgoing {
    pub(crate) bytes: Vec<u8>,
    pub(crate) probe: Option<i64>,
}

/// Generates `n` edits (versions from `first_version`) and applies them to
/// the model; with `probe_every`, a `codeAction` request (ids from
/// `first_id`) follows every `probe_every` edits.
pub(crate) fn storm(
    rng: &mut Rng,
    model: &mut Model,
    uri: &str,
    first_version: i32,
    n: usize,
    probe_every: Option<(usize, i64)>,
) -> Vec<Outgoing> {
    let mut out = Vec::with_capacity(n + n / 10);
    let mut next_id = probe_every.map(|(_, id)| id).unwrap_or(0);
    for i in 0..n {
        let change = model.random_edit(rng);
        let msg = json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": first_version + i as i32},
            "contentChanges": [change],
        }});
        out.push(Outgoing {
            bytes: frame(&msg),
            probe: None,
        });
        if let Some((every, _)) = probe_every
            && (i + 1) % every == 0
        {
            let params = code_action_params(uri, model.random_line_range(rng));
            let msg = json!({"jsonrpc": "2.0", "id": next_id, "method": "textDocument/codeAction", "params": params});
            out.push(Outgoing {
                bytes: frame(&msg),
                probe: Some(next_id),
            });
            next_id += 1;
        }
    }
    out
}

pub(crate) struct StormResult {
    pub(crate) wall: Duration,
    pub(crate) cpu_ms: f64,
    pub(crate) latencies_ms: Vec<f64>,
}

/// Sends the storm from a writer thread as fast as the pipe takes it, then a
/// final `codeAction` request; waits for its answer and every probe's.
pub(crate) fn run_storm(
    lsp: &mut Lsp,
    messages: &[Outgoing],
    uri: &str,
    final_range: Value,
) -> StormResult {
    run_paced_storm(lsp, messages, uri, final_range, None)
}

/// [`run_storm`], with one edit every `gap` when given (a typing pace).
pub(crate) fn run_paced_storm(
    lsp: &mut Lsp,
    messages: &[Outgoing],
    uri: &str,
    final_range: Value,
    gap: Option<Duration>,
) -> StormResult {
    let cpu0 = lsp.cpu_ms();
    let started = Instant::now();
    let mut stdin = lsp.stdin.take().unwrap();
    let (sent, stdin) = std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let mut sent = Vec::new();
                let mut next_edit = Instant::now();
                for m in messages {
                    if let (Some(gap), None) = (gap, m.probe) {
                        // A pace, not a wait for a condition: the bench
                        // plays an editor typing.
                        let now = Instant::now();
                        if next_edit > now {
                            std::thread::sleep(next_edit - now);
                        }
                        next_edit += gap;
                    }
                    if let Some(id) = m.probe {
                        sent.push((id, Instant::now()));
                    }
                    stdin.write_all(&m.bytes).expect("write storm");
                }
                (sent, stdin)
            })
            .join()
            .unwrap()
    });
    lsp.stdin = Some(stdin);
    let final_id = lsp.send_request(
        "textDocument/codeAction",
        code_action_params(uri, final_range),
    );
    let (_, answer) = lsp.wait_response(final_id);
    let wall = started.elapsed();
    let cpu_ms = lsp.cpu_ms() - cpu0;
    assert!(answer.get("error").is_none(), "codeAction failed: {answer}");
    let latencies_ms = sent
        .iter()
        .map(|&(id, at)| ms(lsp.wait_response(id).0 - at))
        .collect();
    StormResult {
        wall,
        cpu_ms,
        latencies_ms,
    }
}

/// Asks codex-ls to explain the whole document; the fake app-server answers
/// with the fingerprint of the snapshot codex-ls wrote for it. Also checks
/// the server's version (a mismatch fails the run with `document-changed`).
pub(crate) fn server_fingerprint(lsp: &mut Lsp, uri: &str, version: i32, token: &str) -> String {
    let args = json!({"textDocument": {"uri": uri, "version": version}, "progressToken": token});
    let (answer, _) = lsp.request(
        "workspace/executeCommand",
        json!({"command": "codex.explain", "arguments": [args]}),
    );
    assert!(
        answer.get("error").is_none(),
        "codex.explain failed: {answer}"
    );
    let end = lsp.wait_notification(|m| {
        m["method"] == "$/progress"
            && m["params"]["token"] == token
            && m["params"]["value"]["kind"] == "end"
    });
    let codex = &end["params"]["value"]["codex"];
    match codex["assistantText"].as_str() {
        Some(text) if codex["status"] == "completed" => text.trim().to_string(),
        _ => format!("run did not complete: {codex}"),
    }
}
