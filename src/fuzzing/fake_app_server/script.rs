//! What a fake app-server does, per test: the script.
//!
//! Without rules the fake behaves as a well-mannered Codex: it answers the
//! handshake, starts and resumes threads, and streams [`Script::answer`] as
//! one delta per turn (or plays the recorded [`Script::transcripts`]). A
//! [`Rule`] replaces what it does on one method's requests with a list of
//! [`Step`]s: answer late or never, exit mid-turn, flood stderr, send a huge
//! line, answer with an error. The process form reads a script from JSON
//! (`camelCase` fields, steps tagged by `"do"`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::transcript::Transcript;

/// The `userAgent` a fake answers `initialize` with: a Codex version
/// codex-ls supports, so no version notice is shown.
pub const USER_AGENT: &str = "fake/0.169.0 (test)";

/// The script of one fake app-server (the same for every launch; rules
/// can tell the first launch from later ones).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Script {
    /// The `userAgent` of the `initialize` answer.
    pub user_agent: String,
    /// The text a turn streams (one delta) and completes with, when no
    /// transcript is played.
    pub answer: String,
    /// Transcript files to play, one per turn, the last repeating (the
    /// process form loads them into [`Script::transcripts`]).
    pub transcript_files: Vec<PathBuf>,
    /// Recorded turns to play instead of [`Script::answer`].
    #[serde(skip)]
    pub transcripts: Vec<Transcript>,
    /// Multiplier of the recorded gaps between a transcript's messages: 0
    /// sends as fast as possible, 1 honours the recording.
    pub speed: f64,
    /// After a played turn sent this many messages, the fake crashes
    /// (closes its output; the process form exits with status 1).
    pub crash_after_turn_messages: Option<usize>,
    /// What to do instead of the default, per method; the first rule that
    /// applies wins.
    pub rules: Vec<Rule>,
}

impl Default for Script {
    fn default() -> Script {
        Script {
            user_agent: USER_AGENT.to_string(),
            answer: "Hello".to_string(),
            transcript_files: Vec::new(),
            transcripts: Vec::new(),
            speed: 0.0,
            crash_after_turn_messages: None,
            rules: Vec::new(),
        }
    }
}

impl Script {
    /// A fake that plays `transcripts` (one per turn, the last repeating).
    pub fn playing(transcripts: Vec<Transcript>) -> Script {
        Script {
            transcripts,
            ..Script::default()
        }
    }

    /// A fake whose turns answer `answer`.
    pub fn answering(answer: &str) -> Script {
        Script {
            answer: answer.to_string(),
            ..Script::default()
        }
    }

    /// Adds a rule: on `method` (at any launch), do `steps`.
    pub fn on(self, method: &str, steps: Vec<Step>) -> Script {
        self.rule(Rule {
            method: method.to_string(),
            launch: Launch::Any,
            steps,
        })
    }

    /// Adds a rule.
    pub fn rule(mut self, rule: Rule) -> Script {
        self.rules.push(rule);
        self
    }

    /// The steps for a request of `method` at launch `launch` (0-based):
    /// the first rule that applies, else the default ([`Step::Answer`], and
    /// for a `turn/start` without transcripts the streamed answer).
    pub fn steps_for(&self, method: &str, launch: usize) -> Vec<Step> {
        if let Some(rule) = self
            .rules
            .iter()
            .find(|rule| rule.method == method && rule.launch.includes(launch))
        {
            return rule.steps.clone();
        }
        if method == "turn/start" && self.transcripts.is_empty() {
            vec![
                Step::Answer,
                Step::Delta {
                    text: self.answer.clone(),
                },
                Step::Complete,
            ]
        } else {
            vec![Step::Answer]
        }
    }

    /// Whether a step needs the fake to be a process of its own.
    pub fn needs_a_process(&self) -> bool {
        self.rules
            .iter()
            .flat_map(|rule| &rule.steps)
            .any(Step::needs_a_process)
    }
}

/// What to do on one method's requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub method: String,
    /// Which launches of the fake the rule applies to.
    #[serde(default)]
    pub launch: Launch,
    /// Done in order; no step that answers means the request is never
    /// answered.
    pub steps: Vec<Step>,
}

/// Which launches a rule applies to (a launch is one start of the fake by
/// codex-ls, counted per script).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Launch {
    #[default]
    Any,
    First,
    Later,
}

impl Launch {
    fn includes(self, launch: usize) -> bool {
        match self {
            Launch::Any => true,
            Launch::First => launch == 0,
            Launch::Later => launch > 0,
        }
    }
}

/// One thing the fake does while handling a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Step {
    /// The answer the real server gives (a `turn/start` with transcripts
    /// plays the whole recorded turn).
    Answer,
    /// Answer with this `result`.
    AnswerWith { result: Value },
    /// Answer with a JSON-RPC error.
    Error { code: i64, message: String },
    /// An `item/agentMessage/delta` of the turn being started.
    Delta { text: String },
    /// A delta of the fingerprints of the files the turn's prompt attaches
    /// ([`attachments_fingerprint`](super::prompted::attachments_fingerprint)).
    Fingerprints,
    /// When the turn's prompt holds a stream directive
    /// ([`StreamSpec`](super::prompted::StreamSpec)): stream as it says and
    /// complete the turn, skipping the steps after this one.
    Stream,
    /// `item/completed` and `turn/completed` of the turn being started, its
    /// answer being the deltas sent so far.
    Complete,
    /// Send this message as it is.
    Send { message: Value },
    /// A JSON notification (`x/huge`) of `bytes` bytes on one line, written
    /// in 1 MiB pieces.
    HugeLine { bytes: usize },
    /// `bytes` copies of `byte` on stderr, then a newline if `newline`.
    StderrFill {
        byte: u8,
        bytes: usize,
        #[serde(default)]
        newline: bool,
    },
    /// These bytes on stderr (any bytes, UTF-8 or not).
    StderrBytes { bytes: Vec<u8> },
    /// Start `sleep 300` in a session of its own that inherits the fake's
    /// stdout, as a tool the agent started would; its pid goes to
    /// `pid_file`. Process form only.
    SpawnHelper { pid_file: PathBuf },
    /// Start a helper in a session of its own whose parent exits at once,
    /// so it becomes an orphan of codex-ls; once it sees that, it writes its
    /// pid to `pid_file` and exits. Process form only.
    DetachOrphan { pid_file: PathBuf },
    /// Exit with `code` (in-process: close the output and stop reading).
    Exit { code: i32 },
}

impl Step {
    fn needs_a_process(&self) -> bool {
        matches!(self, Step::SpawnHelper { .. } | Step::DetachOrphan { .. })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn without_rules_a_turn_streams_the_answer_and_completes() {
        let script = Script::answering("Fine.");
        assert_eq!(
            script.steps_for("turn/start", 0),
            vec![
                Step::Answer,
                Step::Delta {
                    text: "Fine.".into()
                },
                Step::Complete
            ]
        );
        assert_eq!(script.steps_for("initialize", 3), vec![Step::Answer]);
    }

    #[test]
    fn the_first_rule_for_the_launch_wins_and_an_empty_one_never_answers() {
        let script = Script::default()
            .rule(Rule {
                method: "turn/start".into(),
                launch: Launch::First,
                steps: vec![Step::Answer, Step::Exit { code: 3 }],
            })
            .on("turn/start", Vec::new());
        assert_eq!(
            script.steps_for("turn/start", 0),
            vec![Step::Answer, Step::Exit { code: 3 }]
        );
        assert_eq!(script.steps_for("turn/start", 1), Vec::new());
        assert_eq!(script.steps_for("thread/start", 0), vec![Step::Answer]);
    }

    #[test]
    fn a_script_reads_from_json_with_defaults() {
        let script: Script = serde_json::from_value(json!({
            "answer": "Fine.",
            "rules": [{"method": "initialize", "launch": "later", "steps": [
                {"do": "hugeLine", "bytes": 10},
                {"do": "stderrFill", "byte": 101, "bytes": 3},
                {"do": "spawnHelper", "pidFile": "/tmp/p"},
                {"do": "answer"}
            ]}]
        }))
        .unwrap();
        assert_eq!(script.user_agent, USER_AGENT);
        assert_eq!(script.rules[0].launch, Launch::Later);
        assert_eq!(
            script.rules[0].steps[1],
            Step::StderrFill {
                byte: b'e',
                bytes: 3,
                newline: false
            }
        );
        assert!(script.needs_a_process());
        assert!(!Script::default().needs_a_process());
        // Round trip: what the tests write is what the process reads.
        let again: Script = serde_json::from_str(&serde_json::to_string(&script).unwrap()).unwrap();
        assert_eq!(again.rules[0].steps, script.rules[0].steps);
    }
}
