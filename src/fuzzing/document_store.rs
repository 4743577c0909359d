//! Differential fuzzing of the document store against a naive `String`
//! model: the input chooses a position encoding, then opens, edits (with
//! positions anywhere: inside characters, past the ends of lines and of the
//! document, reversed ranges), closes and queries two documents. After every
//! step the store must hold exactly the model's text, version and line
//! count, and strict and lenient position resolution, `position`,
//! `text_in` and `line_span` must agree with the model. The model walks the
//! string's chars and shares no code with the store or with ropey.

use super::Finding;
use super::input::ByteReader;
use crate::document::{
    DocumentError, DocumentStore, Position, PositionEncoding, PositionError, Range, TextChange,
    char_index, char_index_lenient, position,
};

const URIS: [&str; 2] = ["file:///fuzz/a.rs", "untitled:Untitled-1"];
const ENCODINGS: [PositionEncoding; 3] = [
    PositionEncoding::Utf8,
    PositionEncoding::Utf16,
    PositionEncoding::Utf32,
];
const LANGUAGES: [&str; 3] = ["rust", "plaintext", ""];
/// Steps per input: enough for long edit sequences, bounded so one input
/// stays fast.
const MAX_STEPS: usize = 256;
/// Long repeated runs are added only below this size, so documents span
/// several rope chunks without making the model's scans slow.
const LONG_TEXT_LIMIT: usize = 8 * 1024;

/// Text that hits the cases that matter: characters of 1 to 4 UTF-8 bytes
/// and of 1 or 2 UTF-16 units, every line terminator LSP knows, and the
/// Unicode separators that must not break lines.
const PIECES: &[&str] = &[
    "a",
    "xyz",
    " ",
    "\t",
    "é",
    "→",
    "😀",
    "𝄞",
    "\u{10FFFF}",
    "\n",
    "\r",
    "\r\n",
    "\n\r",
    "\u{2028}",
    "\u{2029}",
    "\u{0085}",
    "\u{000B}",
    "\u{000C}",
    "\u{FEFF}",
    "\0",
];

#[derive(Clone, Debug)]
struct Model {
    text: String,
    version: i32,
    language_id: String,
}

/// Runs one input; see the module documentation.
pub fn run(data: &[u8]) -> Result<(), Finding> {
    let mut r = ByteReader::new(data);
    let enc = ENCODINGS[r.below(ENCODINGS.len())];
    let store = DocumentStore::new();
    let mut models: [Option<Model>; 2] = [None, None];
    for step in 0..MAX_STEPS {
        if r.is_empty() {
            break;
        }
        let context = |what: String| Finding::Divergence(format!("{enc:?}, step {step}: {what}"));
        let doc = r.below(URIS.len());
        match r.below(16) {
            0 => open(&mut r, &store, doc, &mut models[doc]),
            1 => close(&store, doc, &mut models[doc]).map_err(context)?,
            2..=4 => query(&mut r, &store, doc, models[doc].as_ref(), enc).map_err(context)?,
            _ => change(&mut r, &store, doc, &mut models[doc], enc).map_err(context)?,
        }
        compare_all(&store, &models).map_err(context)?;
    }
    Ok(())
}

fn open(r: &mut ByteReader<'_>, store: &DocumentStore, doc: usize, model: &mut Option<Model>) {
    let opened = Model {
        text: random_text(r, true),
        version: r.u32() as i32,
        language_id: LANGUAGES[r.below(LANGUAGES.len())].to_string(),
    };
    store.open(URIS[doc], &opened.text, opened.version, &opened.language_id);
    *model = Some(opened);
}

fn close(store: &DocumentStore, doc: usize, model: &mut Option<Model>) -> Result<(), String> {
    let was_open = model.take().is_some();
    let closed = store.close(URIS[doc]);
    if closed != was_open {
        return Err(format!(
            "close({}) said {closed}, the model {was_open}",
            URIS[doc]
        ));
    }
    Ok(())
}

/// One `didChange` of one to four changes, each relative to the text after
/// the previous one.
fn change(
    r: &mut ByteReader<'_>,
    store: &DocumentStore,
    doc: usize,
    model: &mut Option<Model>,
    enc: PositionEncoding,
) -> Result<(), String> {
    let mut text = model.as_ref().map(|m| m.text.clone()).unwrap_or_default();
    let mut changes = Vec::new();
    for _ in 0..1 + r.below(4) {
        let long = text.len() < LONG_TEXT_LIMIT;
        let change = if r.one_in(16) {
            TextChange::full(random_text(r, long))
        } else {
            let start = random_position(r, &text, enc);
            let end = random_position(r, &text, enc);
            TextChange::edit(Range::new(start, end), random_text(r, long))
        };
        match change.range {
            None => text = change.text.clone(),
            Some(range) => {
                let a = model_lenient(&text, range.start, enc);
                let b = model_lenient(&text, range.end, enc);
                text.replace_range(a.min(b)..a.max(b), &change.text);
            }
        }
        changes.push(change);
    }
    let version = r.u32() as i32;
    let applied = store.apply_changes(URIS[doc], version, changes.clone(), enc);
    match (model.as_mut(), applied) {
        (Some(model), Ok(())) => {
            model.text = text;
            model.version = version;
            Ok(())
        }
        (None, Err(DocumentError::NotOpen(uri))) if uri == URIS[doc] => Ok(()),
        (open, applied) => Err(format!(
            "apply_changes({}, {changes:?}) gave {applied:?} but the document is {}",
            URIS[doc],
            if open.is_some() { "open" } else { "closed" }
        )),
    }
}

/// Resolves random positions and ranges in a snapshot every way the store
/// offers, and compares each with the model.
fn query(
    r: &mut ByteReader<'_>,
    store: &DocumentStore,
    doc: usize,
    model: Option<&Model>,
    enc: PositionEncoding,
) -> Result<(), String> {
    let (Some(model), Some(snapshot)) = (model, store.snapshot(URIS[doc])) else {
        return Ok(());
    };
    let text = model.text.as_str();
    let rope = &snapshot.text;
    let a = random_position(r, text, enc);
    let b = random_position(r, text, enc);
    let shown = || format!("text {}", preview(text));

    // Strict and lenient resolution of one position.
    let strict = char_index(rope, a, enc).map(|idx| rope.char_to_byte(idx));
    let expected = model_strict(text, a, enc).ok_or(inside(a));
    if strict != expected {
        return Err(format!(
            "char_index({a:?}) gave byte {strict:?}, the model {expected:?}; {}",
            shown()
        ));
    }
    let lenient = rope.char_to_byte(char_index_lenient(rope, a, enc));
    let expected = model_lenient(text, a, enc);
    if lenient != expected {
        return Err(format!(
            "char_index_lenient({a:?}) gave byte {lenient}, the model {expected}; {}",
            shown()
        ));
    }

    // `position` of a char index (past the end clamps), and back.
    let chars = text.chars().count();
    let idx = r.below(chars + 3);
    let got = position(rope, idx, enc);
    let expected = model_position(text, byte_of_char(text, idx.min(chars)), enc);
    if got != expected {
        return Err(format!(
            "position({idx}) gave {got:?}, the model {expected:?}; {}",
            shown()
        ));
    }
    if idx <= chars && !between_cr_and_lf(text, byte_of_char(text, idx)) {
        let back = char_index(rope, got, enc);
        if back != Ok(idx) {
            return Err(format!(
                "char_index(position({idx}) = {got:?}) gave {back:?}; {}",
                shown()
            ));
        }
    }

    // A range, strictly: its text and the lines it covers.
    let range = Range::new(a, b);
    let bytes = model_range(text, range, enc);
    let got = snapshot.text_in(range, enc);
    let expected = bytes
        .clone()
        .map(|(x, y)| text.get(x..y).unwrap_or_default().to_string());
    if got != expected {
        return Err(format!(
            "text_in({range:?}) gave {got:?}, the model {expected:?}; {}",
            shown()
        ));
    }
    let got = snapshot.line_span(range, enc);
    let expected = bytes.map(|(x, y)| model_line_span(text, x, y));
    if got != expected {
        return Err(format!(
            "line_span({range:?}) gave {got:?}, the model {expected:?}; {}",
            shown()
        ));
    }
    Ok(())
}

/// Text, version, language and line count of both documents, and the
/// store's view of which are open.
fn compare_all(store: &DocumentStore, models: &[Option<Model>; 2]) -> Result<(), String> {
    for (uri, model) in URIS.iter().zip(models) {
        let snapshot = store.snapshot(uri);
        match (model, snapshot) {
            (None, None) => {}
            (Some(model), Some(snapshot)) => {
                let contents = snapshot.contents();
                if contents != model.text {
                    return Err(format!(
                        "{uri} holds {} but the model {}",
                        preview(&contents),
                        preview(&model.text)
                    ));
                }
                let lines = model_lines(&model.text).len();
                if snapshot.line_count() != lines {
                    return Err(format!(
                        "{uri} has {} lines, the model {lines}; text {}",
                        snapshot.line_count(),
                        preview(&model.text)
                    ));
                }
                if snapshot.version != model.version || snapshot.language_id != model.language_id {
                    return Err(format!(
                        "{uri} is version {} ({:?}), the model {} ({:?})",
                        snapshot.version, snapshot.language_id, model.version, model.language_id
                    ));
                }
            }
            (model, snapshot) => {
                return Err(format!(
                    "{uri}: open in the model {}, in the store {}",
                    model.is_some(),
                    snapshot.is_some()
                ));
            }
        }
        if store.contains(uri) != model.is_some() {
            return Err(format!("contains({uri}) is {}", store.contains(uri)));
        }
    }
    let open = models.iter().flatten().count();
    if store.len() != open || store.uris().len() != open || store.is_empty() != (open == 0) {
        return Err(format!(
            "the store has {} documents, the model {open}",
            store.len()
        ));
    }
    Ok(())
}

fn random_text(r: &mut ByteReader<'_>, long: bool) -> String {
    let mut text = String::new();
    for _ in 0..r.below(6) {
        match r.below(8) {
            // Whatever the fuzzer writes, as UTF-8 (invalid bytes become
            // U+FFFD).
            0 => text.push_str(&String::from_utf8_lossy(r.bytes(12))),
            // A long run, so edits and terminators cross rope chunks.
            1 if long => {
                let piece = PIECES[r.below(PIECES.len())];
                text.push_str(&piece.repeat(1 + r.below(600)));
            }
            _ => text.push_str(PIECES[r.below(PIECES.len())]),
        }
    }
    text
}

/// Mostly a position on or near an existing line and character, sometimes
/// far past either end.
fn random_position(r: &mut ByteReader<'_>, text: &str, enc: PositionEncoding) -> Position {
    let lines = model_lines(text);
    let line = match r.below(8) {
        0 => r.u32(),
        1 => to_u32(lines.len() + r.below(3)),
        _ => to_u32(r.below(lines.len())),
    };
    let width = lines
        .get(line as usize)
        .map_or(0, |&(start, end)| units_of(&text[start..end], enc));
    let character = match r.below(8) {
        0 => r.u32(),
        1 => u32::MAX,
        2 => to_u32(width + r.below(4)),
        _ => to_u32(r.below(width + 1)),
    };
    Position::new(line, character)
}

// ---- the model: plain string walks ----

fn units(c: char, enc: PositionEncoding) -> usize {
    match enc {
        PositionEncoding::Utf8 => c.len_utf8(),
        PositionEncoding::Utf16 => c.len_utf16(),
        PositionEncoding::Utf32 => 1,
    }
}

fn units_of(s: &str, enc: PositionEncoding) -> usize {
    s.chars().map(|c| units(c, enc)).sum()
}

/// Each line's content as a byte range, without its terminator. Lines break
/// at "\n", "\r\n" and "\r" only; the last line may be empty.
fn model_lines(s: &str) -> Vec<(usize, usize)> {
    let bytes = s.as_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push((start, i));
                start = i + 1;
            }
            b'\r' => {
                lines.push((start, i));
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push((start, s.len()));
    lines
}

/// Lenient resolution: clamp past the ends, round down inside a character.
fn model_lenient(s: &str, pos: Position, enc: PositionEncoding) -> usize {
    let Some(&(start, end)) = model_lines(s).get(pos.line as usize) else {
        return s.len();
    };
    let mut seen = 0;
    for (i, c) in s[start..end].char_indices() {
        seen += units(c, enc);
        if seen > pos.character as usize {
            return start + i;
        }
    }
    end
}

/// Strict resolution: `None` inside a character.
fn model_strict(s: &str, pos: Position, enc: PositionEncoding) -> Option<usize> {
    let Some(&(start, end)) = model_lines(s).get(pos.line as usize) else {
        return Some(s.len());
    };
    let want = pos.character as usize;
    let mut seen = 0;
    for (i, c) in s[start..end].char_indices() {
        if seen == want {
            return Some(start + i);
        }
        seen += units(c, enc);
        if seen > want {
            return None;
        }
    }
    Some(end)
}

fn inside(pos: Position) -> PositionError {
    PositionError::InsideCharacter {
        line: pos.line,
        character: pos.character,
    }
}

/// A range resolved strictly to bytes, with the store's errors.
fn model_range(
    s: &str,
    range: Range,
    enc: PositionEncoding,
) -> Result<(usize, usize), PositionError> {
    let a = model_strict(s, range.start, enc).ok_or(inside(range.start))?;
    let b = model_strict(s, range.end, enc).ok_or(inside(range.end))?;
    if a > b {
        Err(PositionError::RangeReversed)
    } else {
        Ok((a, b))
    }
}

fn line_starts(s: &str) -> Vec<usize> {
    model_lines(s).iter().map(|&(start, _)| start).collect()
}

/// The line that holds byte `at`: the last line starting at or before it.
fn line_of(starts: &[usize], at: usize) -> usize {
    starts.iter().rposition(|&start| start <= at).unwrap_or(0)
}

fn model_line_span(s: &str, a: usize, b: usize) -> (u32, u32) {
    let starts = line_starts(s);
    let first = line_of(&starts, a);
    let mut last = line_of(&starts, b);
    if b > a && last > first && starts[last] == b {
        last -= 1;
    }
    (to_u32(first), to_u32(last))
}

/// The position of byte `at`, counted from the start of its line.
fn model_position(s: &str, at: usize, enc: PositionEncoding) -> Position {
    let starts = line_starts(s);
    let line = line_of(&starts, at);
    Position::new(to_u32(line), to_u32(units_of(&s[starts[line]..at], enc)))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn byte_of_char(s: &str, idx: usize) -> usize {
    s.char_indices().nth(idx).map_or(s.len(), |(i, _)| i)
}

fn between_cr_and_lf(s: &str, at: usize) -> bool {
    at > 0 && s.as_bytes().get(at - 1) == Some(&b'\r') && s.as_bytes().get(at) == Some(&b'\n')
}

fn preview(s: &str) -> String {
    const MAX: usize = 160;
    if s.chars().count() <= MAX {
        format!("{s:?} ({} bytes)", s.len())
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}... ({} bytes)", s.len())
    }
}

/// The model itself must be right for its verdicts to mean anything.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_lines_break_only_at_lsp_terminators() {
        assert_eq!(model_lines(""), vec![(0, 0)]);
        assert_eq!(
            model_lines("a\r\nb\rc\nd\u{2028}e\n"),
            vec![(0, 1), (3, 4), (5, 6), (7, 12), (13, 13)]
        );
        assert_eq!(model_lines("\n\r"), vec![(0, 0), (1, 1), (2, 2)]);
        assert_eq!(line_starts("a\r\nb"), vec![0, 3]);
    }

    #[test]
    fn model_resolution_matches_the_examples_of_the_readme() {
        let s = "a😀b\nx";
        let p = Position::new;
        assert_eq!(model_strict(s, p(0, 2), PositionEncoding::Utf16), None);
        assert_eq!(model_lenient(s, p(0, 2), PositionEncoding::Utf16), 1);
        assert_eq!(model_strict(s, p(0, 3), PositionEncoding::Utf16), Some(5));
        assert_eq!(model_strict(s, p(0, 99), PositionEncoding::Utf8), Some(6));
        assert_eq!(model_strict(s, p(9, 0), PositionEncoding::Utf8), Some(8));
        assert_eq!(model_position(s, 7, PositionEncoding::Utf32), p(1, 0));
        assert_eq!(model_line_span(s, 0, 7), (0, 0));
        assert_eq!(model_line_span(s, 0, 8), (0, 1));
        assert_eq!(
            model_range(s, Range::new(p(1, 0), p(0, 0)), PositionEncoding::Utf8),
            Err(PositionError::RangeReversed)
        );
    }

    #[test]
    fn fixed_inputs_find_nothing() {
        for data in [&b""[..], b"\x00", b"\x01\x00\x05abc", &[0xff; 300]] {
            assert_eq!(run(data), Ok(()));
        }
    }
}
