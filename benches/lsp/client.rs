//! A lean LSP client over a child's stdio, and its framing.

use super::*;

/// A lean LSP client over a child's stdio.
pub(crate) struct Lsp {
    pub(crate) child: Child,
    pub(crate) pid: u32,
    pub(crate) stdin: Option<ChildStdin>,
    pub(crate) incoming: Receiver<(Instant, Value)>,
    pub(crate) next_id: i64,
    /// Messages received but not yet claimed, with their arrival times.
    pub(crate) stash: Vec<(Instant, Value)>,
    pub(crate) spawned: Instant,
}

impl Lsp {
    pub(crate) fn spawn(mut command: Command) -> Lsp {
        let spawned = Instant::now();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        let pid = child.id();
        let stdout = child.stdout.take().unwrap();
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, stdout);
            while let Some(body) = read_frame(&mut reader) {
                let at = Instant::now();
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                if tx.send((at, value)).is_err() {
                    break;
                }
            }
        });
        Lsp {
            stdin: child.stdin.take(),
            child,
            pid,
            incoming,
            next_id: 0,
            stash: Vec::new(),
            spawned,
        }
    }

    /// The codex-ls binary built with the bench, or the one
    /// `CODEX_LS_BENCH_SERVER` names (to measure another build, e.g. the
    /// one before a change, with the very same workloads).
    pub(crate) fn codex_ls() -> Lsp {
        let binary = std::env::var_os("CODEX_LS_BENCH_SERVER")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_codex-ls").into());
        Lsp::spawn(Command::new(binary))
    }

    pub(crate) fn null_server() -> Lsp {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command.arg("null-server");
        Lsp::spawn(command)
    }

    pub(crate) fn write(&mut self, bytes: &[u8]) {
        self.stdin
            .as_mut()
            .unwrap()
            .write_all(bytes)
            .expect("write to server");
    }

    pub(crate) fn notify(&mut self, method: &str, params: Value) {
        self.write(&frame(
            &json!({"jsonrpc": "2.0", "method": method, "params": params}),
        ));
    }

    pub(crate) fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        self.write(&frame(
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        ));
        id
    }

    /// Waits for the response to `id`; returns its arrival time and the
    /// whole message. Answers server→client requests with `null`.
    pub(crate) fn wait_response(&mut self, id: i64) -> (Instant, Value) {
        let is_it = |m: &Value| m.get("method").is_none() && m["id"] == json!(id);
        if let Some(pos) = self.stash.iter().position(|(_, m)| is_it(m)) {
            return self.stash.remove(pos);
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, msg) = match self.incoming.recv_timeout(left) {
                Ok(got) => got,
                Err(RecvTimeoutError::Timeout) => panic!("no response to request {id} in {WAIT:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the server closed its output before answering request {id}")
                }
            };
            if is_it(&msg) {
                return (at, msg);
            }
            self.handle_other(at, msg);
        }
    }

    pub(crate) fn handle_other(&mut self, at: Instant, msg: Value) {
        if msg.get("method").is_some() && msg.get("id").is_some() {
            let answer = json!({"jsonrpc": "2.0", "id": msg["id"], "result": null});
            self.write(&frame(&answer));
        } else {
            self.stash.push((at, msg));
        }
    }

    pub(crate) fn request(&mut self, method: &str, params: Value) -> (Value, Duration) {
        let sent = Instant::now();
        let id = self.send_request(method, params);
        let (at, msg) = self.wait_response(id);
        (msg, at - sent)
    }

    /// Waits for a notification matching `pred`, looking at the stash first.
    pub(crate) fn wait_notification(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(pos) = self.stash.iter().position(|(_, m)| pred(m)) {
            return self.stash.remove(pos).1;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (at, msg) = self
                .incoming
                .recv_timeout(left)
                .unwrap_or_else(|e| panic!("no matching notification: {e}"));
            if pred(&msg) {
                return msg;
            }
            self.handle_other(at, msg);
        }
    }

    pub(crate) fn initialize(&mut self) -> Duration {
        self.initialize_with(json!({}))
    }

    /// Initializes with the fake app-server as `codexPath` and `options`
    /// added to the initialization options.
    pub(crate) fn initialize_with(&mut self, options: Value) -> Duration {
        let mut init = json!({"codexPath": fake_codex()});
        for (key, value) in options.as_object().into_iter().flatten() {
            init[key] = value.clone();
        }
        let (msg, _) = self.request(
            "initialize",
            json!({
                "processId": null,
                "capabilities": {"general": {"positionEncodings": ["utf-16"]}},
                "initializationOptions": init,
            }),
        );
        let elapsed = self.spawned.elapsed();
        assert!(msg.get("error").is_none(), "initialize failed: {msg}");
        if let Some(encoding) = msg["result"]["capabilities"].get("positionEncoding") {
            assert_eq!(encoding, "utf-16", "the server must use UTF-16 here");
        }
        self.notify("initialized", json!({}));
        elapsed
    }

    pub(crate) fn shutdown(mut self) {
        let id = self.send_request("shutdown", Value::Null);
        self.wait_response(id);
        self.notify("exit", Value::Null);
        self.wait_exit();
    }

    /// Closes the child's input and waits up to 5 s for it to exit; kills
    /// it after that.
    pub(crate) fn wait_exit(mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        eprintln!(
            "lsp bench: process {} did not exit in 5 s; killing it",
            self.pid
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub(crate) fn cpu_ms(&self) -> f64 {
        cpu_ms(self.pid)
    }

    /// The next message, stashed ones first; a server request is answered
    /// with `null` and still returned. `None` when the deadline passes.
    pub(crate) fn recv(&mut self, deadline: Instant) -> Option<(Instant, Value)> {
        if !self.stash.is_empty() {
            return Some(self.stash.remove(0));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.incoming.recv_timeout(left) {
            Ok((at, msg)) if msg.get("method").is_some() && msg.get("id").is_some() => {
                let answer = json!({"jsonrpc": "2.0", "id": msg["id"], "result": null});
                self.write(&frame(&answer));
                Some((at, msg))
            }
            Ok(got) => Some(got),
            Err(_) => None,
        }
    }
}

/// `v` framed by codex-ls's own framing module.
pub(crate) fn frame(v: &Value) -> Vec<u8> {
    codex_ls::lsp::framing::frame(&serde_json::to_vec(v).expect("serialize"))
}

/// Reads one `Content-Length` framed body; `None` on EOF.
pub(crate) fn read_frame(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut length = None;
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if text.is_empty() {
            if length.is_some() {
                break;
            }
            continue;
        }
        if let Some((name, value)) = text.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    r.read_exact(&mut body).ok()?;
    Some(body)
}
