//! Recorded app-server transcripts: parsed once into the parts the fake
//! plays (initialize, thread, turn), and varied for tests (another answer,
//! a file change).
//!
//! A transcript is `codex-app-server/transcripts/*.jsonl` (copied to
//! `tests/fixtures/transcript-*.jsonl`): one `{"t", "dir", "msg"}` object per
//! line, `dir` is `">"` client→server, `"<"` server→client or `"summary"`.
//! See [`Transcript`] for the three parts.

use serde_json::{Value, json};

/// Why a transcript cannot be played.
#[derive(thiserror::Error, Debug)]
pub enum TranscriptError {
    #[error("cannot read transcript {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("transcript line is not JSON ({source}): {line}")]
    NotJson {
        line: String,
        source: serde_json::Error,
    },
    /// A request the fake needs the recorded answer of, or that answer, is
    /// missing.
    #[error("transcript: no {0}")]
    Missing(&'static str),
}

/// One recorded message.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Seconds since the start of the recording.
    pub t: f64,
    /// `true` for server→client (`"<"`), `false` for client→server (`">"`).
    pub from_server: bool,
    pub msg: Value,
}

/// A parsed transcript.
#[derive(Clone, Debug)]
pub struct Transcript {
    /// The recorded `result` of `initialize`.
    pub initialize_result: Value,
    /// Server notifications after the initialize response and before the
    /// thread/start response (configWarning, remoteControl/status/changed).
    pub init_notifications: Vec<Value>,
    /// The recorded `result` of `thread/start` (`{thread: {...}}`).
    pub thread_start_result: Value,
    /// The recorded `thread/started` notification, if any.
    pub thread_started: Option<Value>,
    /// The recorded thread id (from the thread/start result).
    pub thread_id: String,
    /// The recorded turn id (from the turn/start response).
    pub turn_id: String,
    /// The recorded id of the client's `turn/start` request.
    pub turn_start_request_id: Value,
    /// Time of the client's `turn/start` request.
    pub turn_start_t: f64,
    /// Every message after the `turn/start` request up to `turn/completed`.
    pub turn_part: Vec<Entry>,
    /// The `summary` line, if present.
    pub summary: Option<Value>,
}

impl Transcript {
    /// Parses a transcript (one JSON object per line); it must hold the
    /// initialize, thread/start and turn/start exchanges.
    pub fn parse(jsonl: &str) -> Result<Transcript, TranscriptError> {
        let mut entries = Vec::new();
        let mut summary = None;
        for line in jsonl.lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let v: Value =
                serde_json::from_str(line).map_err(|source| TranscriptError::NotJson {
                    line: line.to_string(),
                    source,
                })?;
            let dir = v["dir"].as_str().unwrap_or("");
            let t = v["t"].as_f64().unwrap_or(0.0);
            match dir {
                "summary" => summary = Some(v["msg"].clone()),
                "<" | ">" => entries.push(Entry {
                    t,
                    from_server: dir == "<",
                    msg: v["msg"].clone(),
                }),
                _ => {}
            }
        }

        let request_id = |method: &str| -> Option<(usize, Value)> {
            entries.iter().enumerate().find_map(|(i, e)| {
                (!e.from_server && e.msg["method"] == method && e.msg.get("id").is_some())
                    .then(|| (i, e.msg["id"].clone()))
            })
        };
        let response_to = |id: &Value, after: usize| -> Option<usize> {
            entries
                .iter()
                .enumerate()
                .skip(after + 1)
                .find_map(|(i, e)| {
                    (e.from_server && e.msg.get("method").is_none() && e.msg.get("id") == Some(id))
                        .then_some(i)
                })
        };

        let (init_req, init_id) =
            request_id("initialize").ok_or(TranscriptError::Missing("initialize request"))?;
        let init_resp = response_to(&init_id, init_req)
            .ok_or(TranscriptError::Missing("initialize response"))?;
        let (ts_req, ts_id) =
            request_id("thread/start").ok_or(TranscriptError::Missing("thread/start request"))?;
        let ts_resp =
            response_to(&ts_id, ts_req).ok_or(TranscriptError::Missing("thread/start response"))?;
        let (turn_req, turn_req_id) =
            request_id("turn/start").ok_or(TranscriptError::Missing("turn/start request"))?;
        let turn_resp = response_to(&turn_req_id, turn_req)
            .ok_or(TranscriptError::Missing("turn/start response"))?;

        let initialize_result = entries[init_resp].msg["result"].clone();
        let thread_start_result = entries[ts_resp].msg["result"].clone();
        let thread_id = thread_start_result["thread"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let turn_id = entries[turn_resp].msg["result"]["turn"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();

        let is_notification = |e: &Entry| e.from_server && e.msg.get("id").is_none();
        let init_notifications = entries
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                *i > init_resp
                    && *i < ts_resp
                    && is_notification(e)
                    && e.msg["method"] != "thread/started"
            })
            .map(|(_, e)| e.msg.clone())
            .collect();
        let thread_started = entries
            .iter()
            .find(|e| is_notification(e) && e.msg["method"] == "thread/started")
            .map(|e| e.msg.clone());

        let mut turn_part = Vec::new();
        for (i, e) in entries.iter().enumerate().skip(turn_req + 1) {
            if i == ts_resp || (is_notification(e) && e.msg["method"] == "thread/started") {
                continue;
            }
            if i < ts_resp && is_notification(e) {
                // Recorded before the thread existed: belongs to initialize.
                continue;
            }
            turn_part.push(e.clone());
            if e.from_server && e.msg["method"] == "turn/completed" {
                break;
            }
        }

        Ok(Transcript {
            initialize_result,
            init_notifications,
            thread_start_result,
            thread_started,
            thread_id,
            turn_id,
            turn_start_request_id: turn_req_id,
            turn_start_t: entries[turn_req].t,
            turn_part,
            summary,
        })
    }

    /// Reads and parses a transcript file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Transcript, TranscriptError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TranscriptError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Transcript::parse(&text)
    }

    /// The same turn with the agent answering `text` instead, streamed as
    /// one delta: for structured answers (edits, reviews) in tests.
    pub fn with_answer(&self, text: &str) -> Transcript {
        let mut transcript = self.clone();
        let mut delta_seen = false;
        transcript.turn_part.retain_mut(|entry| {
            let method = entry.msg["method"].as_str().unwrap_or("").to_string();
            match method.as_str() {
                "item/agentMessage/delta" => {
                    if delta_seen {
                        return false;
                    }
                    delta_seen = true;
                    entry.msg["params"]["delta"] = json!(text);
                }
                "item/completed" if entry.msg["params"]["item"]["type"] == "agentMessage" => {
                    entry.msg["params"]["item"]["text"] = json!(text);
                }
                "turn/completed" => {
                    if let Some(items) = entry.msg["params"]["turn"]["items"].as_array_mut() {
                        for item in items.iter_mut().filter(|i| i["type"] == "agentMessage") {
                            item["text"] = json!(text);
                        }
                    }
                }
                _ => {}
            }
            true
        });
        if let Some(summary) = transcript.summary.as_mut() {
            summary["assistant_text"] = json!(text);
        }
        transcript
    }

    /// The same turn with a completed `fileChange` item (the agent changed
    /// files) sent before `turn/completed` (at the end if none was recorded).
    pub fn with_file_change(&self, changes: Value) -> Transcript {
        let mut transcript = self.clone();
        let at = transcript
            .turn_part
            .iter()
            .position(|e| e.from_server && e.msg["method"] == "turn/completed")
            .unwrap_or(transcript.turn_part.len());
        let t = transcript
            .turn_part
            .get(at)
            .map_or(transcript.turn_start_t, |e| e.t);
        let item = json!({"type": "fileChange", "id": "call_patch_1", "changes": changes, "status": "completed"});
        let params =
            json!({"item": item, "threadId": transcript.thread_id, "turnId": transcript.turn_id});
        for (offset, method) in ["item/started", "item/completed"].iter().enumerate() {
            let mut msg = json!({"method": method, "params": params.clone()});
            if *method == "item/started" {
                msg["params"]["item"]["status"] = json!("inProgress");
            }
            transcript.turn_part.insert(
                at + offset,
                Entry {
                    t,
                    from_server: true,
                    msg,
                },
            );
        }
        transcript
    }

    /// `summary.assistant_text` (concatenation of all agent message deltas).
    pub fn assistant_text(&self) -> Option<String> {
        self.summary
            .as_ref()?
            .get("assistant_text")?
            .as_str()
            .map(str::to_string)
    }

    /// The recorded final `turn` object of `turn/completed`.
    pub fn completed_turn(&self) -> Option<&Value> {
        self.turn_part
            .iter()
            .find(|e| e.from_server && e.msg["method"] == "turn/completed")
            .map(|e| &e.msg["params"]["turn"])
    }

    /// Methods of the server notifications in the turn part, in order.
    pub fn turn_methods(&self) -> Vec<String> {
        self.turn_part
            .iter()
            .filter(|e| e.from_server)
            .filter_map(|e| e.msg["method"].as_str().map(str::to_string))
            .collect()
    }
}
