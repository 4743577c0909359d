//! The helper roles the bench binary also plays (the do-nothing server and
//! the relay floor), and the crate's fake app-server installed for it.

use codex_ls::fuzzing::fake_app_server::{Script, Step, process};

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

/// Where the bench installs the crate's fake app-server (a link to the
/// `codex-ls-fake-app-server` binary and its script); fresh each run.
fn fake_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("lsp-bench-fake-app-server")
}

/// Installs the crate's fake `codex app-server` for codex-ls's `codexPath`:
/// each turn streams what a `FAKE-STREAM` prompt asks for (see
/// [`StreamSpec`]), else answers with the fingerprints of the files it
/// attaches. Each thread gets its own id, so runs on several documents
/// stream at once.
pub(crate) fn install_fake_codex() {
    let dir = fake_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = Script::default().on(
        "turn/start",
        vec![
            Step::Answer,
            Step::Stream,
            Step::Fingerprints,
            Step::Complete,
        ],
    );
    process::install(
        &dir,
        &script,
        Path::new(env!("CARGO_BIN_EXE_codex-ls-fake-app-server")),
    )
    .expect("install the fake app-server");
}

/// The `codexPath` of the fake [`install_fake_codex`] installed.
pub(crate) fn fake_codex() -> PathBuf {
    fake_dir().join("codex")
}

/// The floor of scenario 6: runs the fake app-server and relays each delta
/// as a `$/progress` report frame on stdout at once (see the module
/// documentation).
pub(crate) fn null_relay(args: &[String]) {
    let spec = StreamSpec {
        count: args[0].parse().expect("COUNT"),
        gap_us: args[1].parse().expect("GAP_US"),
        gate: PathBuf::from(&args[2]),
        output: args.get(3).is_some_and(|kind| kind == "output"),
    };
    let mut app = Command::new(fake_codex())
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
