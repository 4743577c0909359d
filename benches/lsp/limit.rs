//! The physical limit of the open and storm workloads, measured in-process:
//! the very same frames decoded with `serde_json` straight into the LSP
//! params types and applied to a `ropey::Rope`, with nothing else (no
//! process, pipe, framing, JSON-RPC routing or store). A server can only
//! approach it; the targets are multiples of it.

use ropey::Rope;
use serde::Deserialize;
use tower_lsp_server::ls_types::{DidChangeTextDocumentParams, DidOpenTextDocumentParams};

use super::*;

/// A notification as it is framed, read only for its params.
#[derive(Deserialize)]
struct Notification<P> {
    params: P,
}

/// CPU time of the calling thread, in ms.
fn thread_cpu_ms() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as f64 * 1e3 + now.tv_nsec as f64 / 1e6
}

/// The body of a framed message.
fn body(frame: &[u8]) -> &[u8] {
    let at = frame
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header");
    &frame[at + 4..]
}

/// Decodes a `didOpen` frame and builds its rope: (CPU ms, the rope).
pub(crate) fn open(frame: &[u8]) -> (f64, Rope) {
    let started = thread_cpu_ms();
    let open: Notification<DidOpenTextDocumentParams> =
        serde_json::from_slice(body(frame)).expect("a didOpen");
    let rope = Rope::from_str(&open.params.text_document.text);
    drop(open);
    (thread_cpu_ms() - started, rope)
}

/// The median of `samples` opens.
pub(crate) fn open_median(frame: &[u8], samples: usize) -> (f64, Rope) {
    let mut times = Vec::new();
    let mut rope = Rope::new();
    for _ in 0..samples {
        let (ms, built) = open(frame);
        times.push(ms);
        rope = built;
    }
    (percentile(&sorted(times), 50.0), rope)
}

/// Decodes every `didChange` frame of `storm` and applies it to `rope`
/// (UTF-16 positions, as the storm's client negotiated): CPU ms.
pub(crate) fn storm(storm: &[Outgoing], rope: &mut Rope) -> f64 {
    let started = thread_cpu_ms();
    for message in storm.iter().filter(|m| m.probe.is_none()) {
        let change: Notification<DidChangeTextDocumentParams> =
            serde_json::from_slice(body(&message.bytes)).expect("a didChange");
        for edit in change.params.content_changes {
            let Some(range) = edit.range else {
                *rope = Rope::from_str(&edit.text);
                continue;
            };
            let char_at = |rope: &Rope, line: u32, character: u32| {
                let line_start = rope.line_to_char(line as usize);
                let unit = rope.char_to_utf16_cu(line_start) + character as usize;
                rope.utf16_cu_to_char(unit)
            };
            let start = char_at(rope, range.start.line, range.start.character);
            let end = char_at(rope, range.end.line, range.end.character);
            rope.remove(start..end);
            rope.insert(start, &edit.text);
        }
    }
    thread_cpu_ms() - started
}
