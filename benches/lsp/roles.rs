//! The helper roles the bench binary also plays: the do-nothing server,
//! the fake app-server and the relay floor.

use super::*;

/// A do-nothing LSP server on stdio: answers every request with `null`,
/// exits on `exit` or EOF.
pub(crate) fn null_server() {
    let stdin = std::io::stdin();
    let mut reader = BufReader::with_capacity(1 << 16, stdin.lock());
    let mut stdout = std::io::stdout().lock();
    while let Some(body) = read_frame(&mut reader) {
        let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if msg["method"] == "exit" {
            break;
        }
        if msg.get("method").is_some()
            && let Some(id) = msg.get("id")
        {
            let answer = frame(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
            if stdout
                .write_all(&answer)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                break;
            }
        }
    }
}

/// Writes one line to stdout at once; the streaming threads and the main
/// loop share it, and a line is never split.
pub(crate) fn send_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out
        .write_all(line.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
}

pub(crate) fn send(v: &Value) {
    send_line(&v.to_string());
}

/// A fake `codex app-server` (newline-delimited JSON-RPC on stdio): see the
/// module documentation. Each thread gets its own id, so runs on several
/// documents stream at once.
pub(crate) fn fake_app_server() {
    let stdin = std::io::stdin();
    let mut cwds = std::collections::HashMap::new();
    let (mut threads, mut turns) = (0, 0);
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        let Ok(msg) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let (Some(method), Some(id)) = (msg["method"].as_str(), msg.get("id")) else {
            continue;
        };
        let params = &msg["params"];
        match method {
            "initialize" => send(&json!({"id": id, "result": {
                "userAgent": "codex_lsp_bench/0.169.0 (fake app-server)"}})),
            "thread/start" => {
                threads += 1;
                let thread = format!("bench-thread-{threads}");
                let cwd = params["cwd"].as_str().unwrap_or("").to_string();
                cwds.insert(thread.clone(), cwd);
                send(&json!({"id": id, "result": {"thread": {"id": thread}}}));
            }
            "turn/start" => {
                turns += 1;
                let thread = params["threadId"].clone();
                let turn = format!("bench-turn-{turns}");
                let item = format!("bench-item-{turns}");
                let turn_value =
                    json!({"id": turn, "status": "inProgress", "items": [], "error": null});
                send(&json!({"id": id, "result": {"turn": turn_value}}));
                send(
                    &json!({"method": "turn/started", "params": {"threadId": thread, "turn": turn_value}}),
                );
                let text = params["input"][0]["text"].as_str().unwrap_or("");
                if let Some(spec) = StreamSpec::parse(text) {
                    std::thread::spawn(move || stream_turn(&thread, &turn, &item, &spec));
                    continue;
                }
                let cwd = thread
                    .as_str()
                    .and_then(|t| cwds.get(t))
                    .cloned()
                    .unwrap_or_default();
                let answer = attachments_fingerprint(&params["input"], &cwd);
                send(&json!({"method": "item/agentMessage/delta", "params": {
                    "threadId": thread, "turnId": turn, "itemId": item, "delta": answer}}));
                complete_turn(&thread, &turn, &item, &answer);
            }
            "turn/interrupt" => send(&json!({"id": id, "result": {}})),
            other => send(&json!({"id": id, "error": {
                "code": -32601, "message": format!("method not found: {other}")}})),
        }
    }
}

pub(crate) fn complete_turn(thread: &Value, turn: &str, item: &str, answer: &str) {
    let done = json!({"type": "agentMessage", "id": item, "text": answer});
    send(&json!({"method": "item/completed", "params": {
        "threadId": thread, "turnId": turn, "item": done}}));
    send(
        &json!({"method": "turn/completed", "params": {"threadId": thread, "turn": {
        "id": turn, "status": "completed", "items": [done], "error": null}}}),
    );
}

/// Streams a turn as `spec` says (see [`StreamSpec`]).
pub(crate) fn stream_turn(thread: &Value, turn: &str, item: &str, spec: &StreamSpec) {
    let mut answer = String::new();
    let start = Instant::now();
    for seq in 0..spec.count {
        if spec.gap_us > 0 {
            let due = start + Duration::from_micros(spec.gap_us * seq as u64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        // Built by hand so that the timestamp is taken right before the
        // write; the delta needs no escaping.
        let delta = format!("{seq}:{};", mono_ns());
        send_line(&format!(
            r#"{{"method":"item/agentMessage/delta","params":{{"threadId":{thread},"turnId":"{turn}","itemId":"{item}","delta":"{delta}"}}}}"#
        ));
        answer.push_str(&delta);
    }
    // The client opens the gate once it has seen every delta (or gives up).
    let deadline = Instant::now() + WAIT;
    while !spec.gate.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    complete_turn(thread, turn, item, &answer);
}

/// The floor of scenario 6: runs the fake app-server and relays each delta
/// as a `$/progress` report frame on stdout at once (see the module
/// documentation).
pub(crate) fn null_relay(args: &[String]) {
    let spec = StreamSpec {
        count: args[0].parse().expect("COUNT"),
        gap_us: args[1].parse().expect("GAP_US"),
        gate: PathBuf::from(&args[2]),
    };
    let mut app = Command::new(std::env::current_exe().unwrap())
        .arg("app-server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn the fake app-server");
    let mut to_app = app.stdin.take().unwrap();
    let mut from_app = BufReader::new(app.stdout.take().unwrap());
    let mut ask = |id: i64, method: &str, params: Value| -> Value {
        writeln!(
            to_app,
            "{}",
            json!({"id": id, "method": method, "params": params})
        )
        .unwrap();
        let mut line = String::new();
        from_app.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    };
    ask(1, "initialize", json!({}));
    let thread = ask(2, "thread/start", json!({"cwd": "/"}))["result"]["thread"]["id"].clone();
    let input = json!([{"type": "text", "text": spec.prompt(), "text_elements": []}]);
    ask(3, "turn/start", json!({"threadId": thread, "input": input}));
    let mut stdout = std::io::stdout().lock();
    let mut relayed = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if from_app.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        let msg: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let value = match msg["method"].as_str() {
            Some("item/agentMessage/delta") => {
                relayed += 1;
                json!({"kind": "report", "codex": {"delta": msg["params"]["delta"], "seq": relayed}})
            }
            Some("turn/completed") => {
                let text = &msg["params"]["turn"]["items"][0]["text"];
                json!({"kind": "end", "codex": {"status": "completed", "assistantText": text}})
            }
            _ => continue,
        };
        let report = json!({"jsonrpc": "2.0", "method": "$/progress", "params": {"token": "relay", "value": value}});
        let _ = stdout
            .write_all(&frame(&report))
            .and_then(|()| stdout.flush());
        if value["kind"] == "end" {
            break;
        }
    }
    drop(to_app);
    let _ = app.wait();
}

/// The fingerprints of the files the turn's text input mentions.
pub(crate) fn attachments_fingerprint(input: &Value, cwd: &str) -> String {
    let mut out = Vec::new();
    for item in input.as_array().into_iter().flatten() {
        let text = item["text"].as_str().unwrap_or("");
        for element in item["text_elements"].as_array().into_iter().flatten() {
            let range = &element["byteRange"];
            let (Some(start), Some(end)) = (range["start"].as_u64(), range["end"].as_u64()) else {
                continue;
            };
            let Some(mention) = text.get(start as usize..end as usize) else {
                continue;
            };
            let path = std::path::Path::new(cwd).join(mention.trim_start_matches('@'));
            out.push(match std::fs::read(&path) {
                Ok(bytes) => fingerprint(&bytes),
                Err(err) => format!("cannot read {}: {err}", path.display()),
            });
        }
    }
    if out.is_empty() {
        "no attachment".to_string()
    } else {
        out.join("; ")
    }
}
