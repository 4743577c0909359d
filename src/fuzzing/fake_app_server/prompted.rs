//! Turns whose content the prompt decides, for the benches: a stream of
//! timestamped deltas as a `FAKE-STREAM` directive says ([`StreamSpec`]),
//! and the fingerprints of the files a prompt attaches (so a bench sees the
//! text codex-ls sent, and compares it with its model).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// What a turn streams when its prompt holds
/// `FAKE-STREAM count=N gap_us=G gate=PATH`: N deltas, one every G µs (0:
/// as fast as the fake can), each `"<seq>:<mono_ns at send>;"`. It then
/// waits until the file GATE exists before it completes the turn, so a
/// client that opens the gate only once it saw every delta can tell a lost
/// delta from the correction `item/completed` brings. With `output=1`, a
/// command step runs beside the answer: each delta is followed by one
/// [`OUTPUT_LINE_BYTES`]-byte line of the command's output
/// (`item/commandExecution/outputDelta`), as when the agent runs a build.
/// (After, not before: a line just before each delta would put the delta
/// in the coalescing window the line's report opened, and the relay
/// latency could not be measured on it.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSpec {
    pub count: usize,
    pub gap_us: u64,
    pub gate: PathBuf,
    pub output: bool,
}

/// The length of each line of command output a `FAKE-STREAM output=1` sends.
pub const OUTPUT_LINE_BYTES: usize = 64;

/// Line `seq` of the command output: [`OUTPUT_LINE_BYTES`] bytes.
pub fn output_line(seq: usize) -> String {
    format!("{seq:0>width$}\n", width = OUTPUT_LINE_BYTES - 1)
}

impl StreamSpec {
    /// The prompt that asks for this stream.
    pub fn prompt(&self) -> String {
        format!(
            "FAKE-STREAM count={} gap_us={} gate={}{}",
            self.count,
            self.gap_us,
            self.gate.display(),
            if self.output { " output=1" } else { "" }
        )
    }

    /// The stream `text` asks for, if it holds a directive.
    pub fn parse(text: &str) -> Option<StreamSpec> {
        let (_, rest) = text.split_once("FAKE-STREAM ")?;
        let mut words = rest.split_whitespace();
        let mut value = |key: &str| {
            words
                .next()
                .and_then(|w| w.strip_prefix(key))
                .map(str::to_owned)
        };
        Some(StreamSpec {
            count: value("count=")?.parse().ok()?,
            gap_us: value("gap_us=")?.parse().ok()?,
            gate: PathBuf::from(value("gate=")?),
            output: value("output=").as_deref() == Some("1"),
        })
    }
}

/// `CLOCK_MONOTONIC` in ns: the clock of `Instant` on Linux, shared by all
/// processes, so the fake's send times and a client's receive times
/// compare directly.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec for clock_gettime to write.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// FNV-1a (64 bit) of `bytes`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A file's content as the fake reports it: its length and FNV-1a hash.
pub fn fingerprint(bytes: &[u8]) -> String {
    format!("len={} fnv={:016x}", bytes.len(), fnv1a(bytes))
}

/// The text of a `turn/start`'s input (its first text item).
pub fn prompt_text(input: &Value) -> &str {
    input[0]["text"].as_str().unwrap_or("")
}

/// The fingerprints of the files the turn's text input mentions (`@path`
/// text elements, relative to the thread's `cwd`), `; `-separated, or
/// `no attachment`.
pub fn attachments_fingerprint(input: &Value, cwd: &Path) -> String {
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
            let path = cwd.join(mention.trim_start_matches('@'));
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_stream_directive_reads_back_from_its_prompt() {
        let mut spec = StreamSpec {
            count: 3,
            gap_us: 40,
            gate: PathBuf::from("/tmp/gate"),
            output: false,
        };
        assert_eq!(
            StreamSpec::parse(&format!("Explain. {}", spec.prompt())),
            Some(spec.clone())
        );
        spec.output = true;
        assert_eq!(StreamSpec::parse(&spec.prompt()), Some(spec));
        assert_eq!(output_line(7).len(), OUTPUT_LINE_BYTES);
        assert_eq!(StreamSpec::parse("Explain"), None);
        assert_eq!(StreamSpec::parse("FAKE-STREAM count=x"), None);
    }

    #[test]
    fn mentioned_files_are_fingerprinted_relative_to_the_cwd() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "abc").unwrap();
        let input = json!([{"type": "text", "text": "see @a.rs and @b.rs", "text_elements": [
            {"byteRange": {"start": 4, "end": 9}},
            {"byteRange": {"start": 14, "end": 19}}]}]);
        let answer = attachments_fingerprint(&input, dir.path());
        let (a, b) = answer.split_once("; ").unwrap();
        assert_eq!(a, fingerprint(b"abc"));
        assert!(b.starts_with("cannot read"), "{b}");
        assert_eq!(
            attachments_fingerprint(&json!([{"text": "x"}]), dir.path()),
            "no attachment"
        );
    }
}
