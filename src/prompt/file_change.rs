//! Merging the agent's file changes into an open buffer that has unsaved
//! edits. Owns, for the app-server's `fileChange` thread item (whose wire
//! types live in `codex::protocol`), a parser for the unified diffs it carries, and the placement of each hunk
//! in the buffer's text, which yields byte-range replacements (the caller
//! turns them into a `workspace/applyEdit`) or a typed conflict (the caller
//! turns it into a `merge-conflict` diagnostic and leaves the buffer alone).
//!
//! What codex app-server 0.169 sends, per change `{path, kind, diff}`:
//! - `kind: {"type": "update", "move_path": null | "<path>"}`: `diff` is
//!   `similar::TextDiff::from_lines(old, new).unified_diff().context_radius(1)`
//!   of the file as it was on disk and as the agent writes it: hunks only (no
//!   `---`/`+++` header), one line of context, `@@ -a,b +c,d @@` headers whose
//!   count is left out when it is 1, lines keeping their own line break (CRLF
//!   files give CRLF diff lines; `\n`, `\r\n` and a lone `\r` all break
//!   lines), and `\ No newline at end of file` after a last line that has no
//!   break. With a `move_path` the app-server appends `"\n\nMoved to: <path>"`
//!   to the diff (an empty diff when only the name changed).
//! - `kind: {"type": "add"}`: `diff` is the new file's whole content.
//! - `kind: {"type": "delete"}`: `diff` is the deleted file's whole content.
//!
//! `item/started` carries the change before it is written (status
//! `inProgress`), `item/completed` after (status `completed`, `failed` or
//! `declined`); only a completed item changed the disk. The streamed
//! `item/fileChange/patchUpdated` notification carries a different, rangeless
//! `@@` format; the parser rejects it as malformed.
//!
//! `similar` 2.7.0 (codex's version) sometimes writes a hunk header whose
//! numbers are wrong while its body is right (its diff of repeated lines
//! can come out of order); such a hunk is read to the next header and its
//! numbers are not trusted (see `parse_unified_diff`). The tests write
//! their diffs with that very crate and version, as Codex does; the line
//! diff of a base and the buffer (below) is its Myers diff too. Applying
//! stays ours: diff-apply crates reject those headers, or guess between
//! ambiguous places.
//!
//! Placement matches lines exactly, with no fuzz: a hunk's context and
//! removed lines must appear in the buffer as consecutive lines. Only the
//! kind of line break is not compared (LSP and `similar` both take `\n`,
//! `\r\n` and `\r` as breaks, and an editor may show a CRLF file with LF
//! breaks); whether a line has a break at all is compared. There is no
//! whitespace-insensitive fallback: a line whose trailing whitespace the
//! user changed is a line the user changed, and overwriting it would drop
//! that edit silently (trailing whitespace matters in Markdown, string
//! literals and diff-like formats).
//!
//! Two ways to place hunks:
//! - [`FileUpdateChange::merge_into_buffer`] with a base knows the text the
//!   file had on disk before the change (read when the change is proposed):
//!   hunks sit at their stated lines there, and a line diff of that base and
//!   the buffer carries them over. A hunk applies exactly when the user left
//!   all its lines alone.
//! - [`FileUpdateChange::merge_into_buffer`] without one has only the buffer, and
//!   searches it like `patch` with offsets: a hunk applies where its lines
//!   are, however far they moved, if that place is unique (in the order of
//!   the hunks). A hunk that matches at several places is ambiguous, even at
//!   its stated line, since edits above it may have moved an identical run
//!   there. What search cannot see is an edit that broke a hunk's true place
//!   while an identical run elsewhere survives: that run takes the hunk.
//!   Prefer the base.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::codex::protocol::PatchChangeKind;
// The change a handler merges is the app-server's item as it came; handlers
// name it here, through the domain, not in `codex`.
pub use crate::codex::protocol::{FileChangeItem, FileUpdateChange};

/// What the app-server appends to an update's diff when the file moves.
const MOVED_TO: &str = "\n\nMoved to: ";

impl FileUpdateChange {
    /// The unified diff of an `update`, without the `Moved to:` line the
    /// app-server appends for a move; `None` for other kinds.
    fn update_diff(&self) -> Option<&str> {
        let PatchChangeKind::Update { move_path } = &self.kind else {
            return None;
        };
        if move_path.is_some()
            && let Some(at) = self.diff.rfind(MOVED_TO)
            && !self.diff[at + MOVED_TO.len()..].contains(['\n', '\r'])
        {
            return Some(&self.diff[..at]);
        }
        Some(&self.diff)
    }

    /// The edits that bring this change into `buffer`, the unsaved text of
    /// the file's open document. With `base`, the text the file had on disk
    /// before the change, an `update`'s hunks are placed in `base` and
    /// carried to the buffer by a line diff, which repeated lines cannot
    /// fool; without it, each hunk is placed by searching the buffer (see
    /// `apply_patch`). An
    /// `add` fills only an empty buffer (or one that already has exactly the
    /// new content); a `delete` is always a conflict, since the user's
    /// unsaved buffer is never deleted. A move only edits the content:
    /// renaming the document is the caller's call.
    pub fn merge_into_buffer(
        &self,
        base: Option<&str>,
        buffer: &str,
    ) -> Result<Vec<Replacement>, PatchError> {
        match &self.kind {
            PatchChangeKind::Add if buffer.is_empty() && !self.diff.is_empty() => {
                Ok(vec![Replacement {
                    range: 0..0,
                    new_text: self.diff.clone(),
                }])
            }
            PatchChangeKind::Add if buffer == self.diff => Ok(Vec::new()),
            PatchChangeKind::Add => Err(PatchError::AddedOverText),
            PatchChangeKind::Delete => Err(PatchError::Deleted),
            PatchChangeKind::Unknown => Err(PatchError::UnknownKind),
            PatchChangeKind::Update { .. } => {
                let patch = parse_unified_diff(self.update_diff().unwrap_or_default())?;
                apply_patch(base, buffer, &patch)
            }
        }
    }
}

/// A parsed unified diff of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Patch {
    hunks: Vec<Hunk>,
}

/// One `@@ -old +new @@` hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hunk {
    /// The old range as the header states it.
    old: LineRange,
    /// The new range as the header states it.
    new: LineRange,
    lines: Vec<HunkLine>,
    /// Whether the body has the lines the header counts; when not, the
    /// header's line numbers are not trusted either.
    header_matches: bool,
}

/// A hunk header's range: `start` is 1-based, or for an empty range the line
/// after which the hunk applies (0 for the top of the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRange {
    pub start: usize,
    pub len: usize,
}

impl LineRange {
    /// The 0-based index of the range's first line (for an empty range, of
    /// the line before which it sits).
    fn first_index(self) -> usize {
        if self.len == 0 {
            self.start
        } else {
            self.start.saturating_sub(1)
        }
    }
}

/// As in a hunk header: `12,3`, `12` for one line, `11,0` for none.
impl fmt::Display for LineRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == 1 {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{},{}", self.start, self.len)
        }
    }
}

/// One line of a hunk's body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HunkLine {
    kind: LineKind,
    /// The line without its prefix, with its line break unless a
    /// `\ No newline at end of file` marker followed it.
    text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Context,
    Removed,
    Added,
}

/// Replace the bytes `range` of the buffer's text with `new_text`. The
/// range starts and ends at line starts (or the end of the text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    pub range: Range<usize>,
    pub new_text: String,
}

/// Why a change cannot be merged into the buffer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatchError {
    /// The diff is not a unified diff this module can read.
    #[error("the agent's diff is malformed at its line {line}: {reason}")]
    Malformed { line: usize, reason: &'static str },
    /// Some hunks do not apply cleanly; nothing is applied.
    #[error("{}", conflicts_message(.0))]
    Conflict(Vec<HunkConflict>),
    #[error("the agent created this file, but its open buffer already has other unsaved text")]
    AddedOverText,
    #[error("the agent deleted this file; its open buffer keeps the unsaved edits")]
    Deleted,
    #[error("the agent changed this file in a way codex-ls does not know")]
    UnknownKind,
}

fn conflicts_message(conflicts: &[HunkConflict]) -> String {
    let list: Vec<String> = conflicts.iter().map(ToString::to_string).collect();
    format!("merge conflict: {}", list.join("; "))
}

/// A hunk that does not apply, named by its index and old line range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("hunk {} (@@ -{} @@) {reason}", .index + 1, .old)]
pub struct HunkConflict {
    /// 0-based index of the hunk in the patch.
    pub index: usize,
    /// The hunk's old line range, as in its header.
    pub old: LineRange,
    /// 0-based buffer line where the hunk was looked for (or found), for
    /// the diagnostic's range.
    pub buffer_line: usize,
    pub reason: ConflictReason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictReason {
    /// Its context and removed lines are nowhere in the buffer, in order.
    Changed,
    /// Its context and removed lines are gone but its result is there.
    AlreadyApplied,
    /// It matches at several places (0-based buffer lines) that leave room
    /// for the other hunks.
    Ambiguous { lines: Vec<usize> },
    /// It matches only before a hunk that precedes it in the diff.
    OutOfOrder,
    /// It ends the file without a final line break, but the buffer has
    /// lines after the place it matches.
    NotAtEnd,
    /// The file was empty when the agent changed it; the buffer is not.
    BufferNotEmpty,
    /// It has neither context nor removed lines to find its place by.
    NoContext,
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConflictReason::Changed => {
                f.write_str("does not apply: the unsaved edits changed the lines it replaces")
            }
            ConflictReason::AlreadyApplied => {
                f.write_str("is already in the buffer: its lines were replaced by its result")
            }
            ConflictReason::Ambiguous { lines } => {
                let lines: Vec<String> = lines.iter().map(|line| (line + 1).to_string()).collect();
                write!(f, "is ambiguous: it matches at lines {}", lines.join(", "))
            }
            ConflictReason::OutOfOrder => {
                f.write_str("does not apply: it matches only above the hunk before it")
            }
            ConflictReason::NotAtEnd => {
                f.write_str("does not apply: it ends the file, but the buffer has lines after it")
            }
            ConflictReason::BufferNotEmpty => f.write_str(
                "does not apply: the file was empty when the agent changed it, the buffer is not",
            ),
            ConflictReason::NoContext => {
                f.write_str("cannot be placed: it has no context or removed lines")
            }
        }
    }
}

/// Splits text into lines, each with its line break (`\n`, `\r\n` or a
/// lone `\r`); only the last line may have none. An empty text has no lines.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let mut end = bytes.len();
        let mut i = start;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    end = i + 1;
                    break;
                }
                b'\r' => {
                    end = if bytes.get(i + 1) == Some(&b'\n') {
                        i + 2
                    } else {
                        i + 1
                    };
                    break;
                }
                _ => i += 1,
            }
        }
        let line = &text[start..end];
        start = end;
        Some(line)
    })
}

/// A line's content and its break (empty when it has none).
fn split_break(line: &str) -> (&str, &str) {
    let content = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .or_else(|| line.strip_suffix('\r'))
        .unwrap_or(line);
    line.split_at(content.len())
}

/// Reads the unified diff of one file. File headers (`---`, `+++`,
/// `diff --git`, `index`) before the first hunk are skipped; blank lines
/// between hunks are ignored; anything else outside a hunk is malformed.
/// An empty diff is an empty patch.
///
/// A hunk whose body has more lines than its header counts is read up to
/// the next header (or the end) and marked with `header_matches: false`:
/// `similar` 2.7.0, which codex uses, writes such headers (wrong starts,
/// counts too small, correct bodies) when its diff of repeated lines comes
/// out of order. A body with fewer lines than its header counts is cut, and
/// malformed.
fn parse_unified_diff(diff: &str) -> Result<Patch, PatchError> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut lines = split_lines(diff).zip(1..).peekable();
    while let Some((line, number)) = lines.next() {
        let (content, _) = split_break(line);
        if content.is_empty() {
            continue;
        }
        if !content.starts_with("@@") {
            if hunks.is_empty() && is_file_header(content) {
                continue;
            }
            return Err(malformed(
                number,
                "expected a `@@ -a,b +c,d @@` hunk header",
            ));
        }
        let (old, new) = parse_header(content)
            .ok_or_else(|| malformed(number, "the hunk header is not `@@ -a,b +c,d @@`"))?;
        let mut body: Vec<(&str, usize)> = Vec::new();
        while let Some(&(line, line_number)) = lines.peek() {
            if line.starts_with("@@") {
                break;
            }
            body.push((line, line_number));
            lines.next();
        }
        let (lines_read, header_matches) = match read_counted_body(&body, old.len, new.len)? {
            Some(read) => (read, true),
            None => {
                // `similar`'s wrong counts are always too small; a body
                // shorter than its header is a cut diff.
                let read = read_whole_body(&body)?;
                let count = |kind: LineKind| read.iter().filter(|line| line.kind != kind).count();
                if count(LineKind::Added) < old.len || count(LineKind::Removed) < new.len {
                    return Err(malformed(
                        number,
                        "the diff ends before the hunk has the lines its header counts",
                    ));
                }
                (read, false)
            }
        };
        let hunk = Hunk {
            old,
            new,
            lines: lines_read,
            header_matches,
        };
        check_hunk(&hunks, &hunk, number)?;
        hunks.push(hunk);
    }
    Ok(Patch { hunks })
}

/// Reads a hunk's body as its header counts it: `None` when the body has
/// fewer lines, or more that are not blank.
fn read_counted_body(
    body: &[(&str, usize)],
    old_len: usize,
    new_len: usize,
) -> Result<Option<Vec<HunkLine>>, PatchError> {
    let mut read: Vec<HunkLine> = Vec::new();
    let (mut old_left, mut new_left) = (old_len, new_len);
    let mut rest = body.iter().peekable();
    while old_left > 0 || new_left > 0 {
        let Some(&(line, number)) = rest.next() else {
            return Ok(None);
        };
        let Some(line) = classify(line, number, &mut read)? else {
            continue;
        };
        let (old_used, new_used) = match line.kind {
            LineKind::Context => (1, 1),
            LineKind::Removed => (1, 0),
            LineKind::Added => (0, 1),
        };
        if old_used > old_left || new_used > new_left {
            return Ok(None);
        }
        old_left -= old_used;
        new_left -= new_used;
        read.push(line);
    }
    if let Some(&&(line, number)) = rest.peek()
        && line.starts_with('\\')
    {
        rest.next();
        mark_no_newline(&mut read, number)?;
    }
    if rest.any(|(line, _)| !split_break(line).0.is_empty()) {
        return Ok(None);
    }
    Ok(Some(read))
}

/// Reads every line of a hunk's body but trailing blank ones.
fn read_whole_body(body: &[(&str, usize)]) -> Result<Vec<HunkLine>, PatchError> {
    let end = body
        .iter()
        .rposition(|(line, _)| !split_break(line).0.is_empty())
        .map_or(0, |last| last + 1);
    let mut read: Vec<HunkLine> = Vec::new();
    for &(line, number) in &body[..end] {
        if let Some(line) = classify(line, number, &mut read)? {
            read.push(line);
        }
    }
    Ok(read)
}

/// One body line as a hunk line; a `\ No newline at end of file` marker
/// is applied to the line before it and gives `None`.
fn classify(
    line: &str,
    number: usize,
    read: &mut [HunkLine],
) -> Result<Option<HunkLine>, PatchError> {
    let (kind, text) = match line.as_bytes().first() {
        Some(b' ') => (LineKind::Context, &line[1..]),
        Some(b'-') => (LineKind::Removed, &line[1..]),
        Some(b'+') => (LineKind::Added, &line[1..]),
        Some(b'\\') => {
            mark_no_newline(read, number)?;
            return Ok(None);
        }
        // An empty line is an empty context line whose leading space was
        // stripped, as `patch` and `git apply` read it.
        _ if split_break(line).0.is_empty() => (LineKind::Context, line),
        _ => {
            return Err(malformed(
                number,
                "a hunk line must start with ' ', '-' or '+'",
            ));
        }
    };
    Ok(Some(HunkLine {
        kind,
        text: text.to_string(),
    }))
}

fn malformed(line: usize, reason: &'static str) -> PatchError {
    PatchError::Malformed { line, reason }
}

fn is_file_header(line: &str) -> bool {
    ["--- ", "+++ ", "diff ", "index "]
        .iter()
        .any(|prefix| line.starts_with(prefix))
}

/// `@@ -a[,b] +c[,d] @@[ section]`
fn parse_header(line: &str) -> Option<(LineRange, LineRange)> {
    let rest = line.strip_prefix("@@ -")?;
    let (old, rest) = rest.split_once(" +")?;
    let (new, _) = rest.split_once(" @@")?;
    Some((parse_range(old)?, parse_range(new)?))
}

fn parse_range(text: &str) -> Option<LineRange> {
    let number = |s: &str| {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<usize>().ok()
    };
    let range = match text.split_once(',') {
        Some((start, len)) => LineRange {
            start: number(start)?,
            len: number(len)?,
        },
        None => LineRange {
            start: number(text)?,
            len: 1,
        },
    };
    (range.len == 0 || range.start > 0).then_some(range)
}

/// `\ No newline at end of file`: the previous line has no line break.
fn mark_no_newline(read: &mut [HunkLine], number: usize) -> Result<(), PatchError> {
    let Some(last) = read.last_mut() else {
        return Err(malformed(number, "a `\\` marker must follow a hunk line"));
    };
    let content_len = split_break(&last.text).0.len();
    if content_len == last.text.len() {
        return Err(malformed(
            number,
            "the line before the `\\` marker has no line break",
        ));
    }
    last.text.truncate(content_len);
    Ok(())
}

/// Hunks whose headers match their bodies must come in file order without
/// overlapping, and a line without a break can only be the last line of its
/// side of the last hunk.
fn check_hunk(previous: &[Hunk], hunk: &Hunk, number: usize) -> Result<(), PatchError> {
    if let Some(before) = previous.last() {
        let overlap = before.old.first_index() + before.old.len > hunk.old.first_index()
            || before.new.first_index() + before.new.len > hunk.new.first_index();
        if overlap && before.header_matches && hunk.header_matches {
            return Err(malformed(number, "the hunks are out of order or overlap"));
        }
        let unterminated = before
            .lines
            .iter()
            .any(|line| split_break(&line.text).1.is_empty());
        if unterminated {
            return Err(malformed(
                number,
                "a hunk follows a line marked as the end of the file",
            ));
        }
    }
    for skip in [LineKind::Added, LineKind::Removed] {
        let mut ended = false;
        for line in hunk.lines.iter().filter(|line| line.kind != skip) {
            if ended {
                return Err(malformed(
                    number,
                    "a line without a line break is not the last",
                ));
            }
            ended = split_break(&line.text).1.is_empty();
        }
    }
    Ok(())
}

/// A buffer line: where it starts, its content, its break (empty when it
/// has none).
struct BufferLine<'a> {
    start: usize,
    content: &'a str,
    brk: &'a str,
}

impl BufferLine<'_> {
    fn broken(&self) -> bool {
        !self.brk.is_empty()
    }
}

/// A hunk's lines as they were (context and removed) or as they become
/// (context and added), each as content and whether it has a break.
fn side(hunk: &Hunk, skip: LineKind) -> Vec<(&str, bool)> {
    hunk.lines
        .iter()
        .filter(|line| line.kind != skip)
        .map(|line| {
            let (content, brk) = split_break(&line.text);
            (content, !brk.is_empty())
        })
        .collect()
}

fn matches_at(buffer: &[BufferLine<'_>], at: usize, wanted: &[(&str, bool)]) -> bool {
    buffer.get(at..at + wanted.len()).is_some_and(|lines| {
        lines
            .iter()
            .zip(wanted)
            .all(|(line, (content, broken))| line.content == *content && line.broken() == *broken)
    })
}

fn all_matches(buffer: &[BufferLine<'_>], wanted: &[(&str, bool)]) -> Vec<usize> {
    if wanted.is_empty() || wanted.len() > buffer.len() {
        return Vec::new();
    }
    (0..=buffer.len() - wanted.len())
        .filter(|&at| matches_at(buffer, at, wanted))
        .collect()
}

/// The one break of some lines, when all that have a break have the same.
fn uniform_break<'a>(breaks: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut found: Option<&str> = None;
    for brk in breaks.filter(|brk| !brk.is_empty()) {
        match found {
            None => found = Some(brk),
            Some(kind) if kind == brk => {}
            Some(_) => return None,
        }
    }
    found
}

/// Places each hunk of `patch` in `text` and returns one replacement per
/// hunk that changes something, in order and without overlaps; or, when any
/// hunk does not apply cleanly, every such hunk's conflict.
///
/// With `base`, the text the buffer had when it was last the file on disk
/// (at `didOpen` or the last `didSave`), which is the file the agent
/// changed, the hunks are placed in `base` at their stated lines and
/// carried to `text` through a line diff of `base` and `text`: a hunk
/// applies where the user's edits left all its lines untouched, and
/// conflicts where they touched one. Repeated lines cannot make it
/// ambiguous. When `base` is not the file the diff was made from (a hunk is
/// not at its stated line in it), or the user's edits are too many to diff,
/// the hunks are placed by search, as without a base.
///
/// By search, a hunk's context and removed lines must appear in `text` as
/// consecutive lines, and the hunks in their order. A hunk with one such
/// place is placed there, however far the user's edits moved its lines (its
/// stated line is only where a conflict is reported). A hunk with several
/// is ambiguous, even when one is at its stated line: with unsaved edits
/// above it, an identical run of lines may have moved there, and `patch`'s
/// habit of taking the nearest would then edit the wrong lines. Nor can
/// search tell when the user's edits broke a hunk's true place while an
/// identical run survives elsewhere: that run takes the hunk. The base has
/// neither limit.
fn apply_patch(
    base: Option<&str>,
    text: &str,
    patch: &Patch,
) -> Result<Vec<Replacement>, PatchError> {
    let buffer = buffer_lines(text);
    let placed = base
        .and_then(|base| place_by_base(&buffer_lines(base), &buffer, patch))
        .unwrap_or_else(|| place_by_search(&buffer, patch))
        .map_err(conflict_error)?;
    Ok(build_replacements(text, &buffer, patch, &placed))
}

fn conflict_error(mut conflicts: Vec<HunkConflict>) -> PatchError {
    conflicts.sort_by_key(|conflict| conflict.index);
    conflicts.dedup_by_key(|conflict| conflict.index);
    PatchError::Conflict(conflicts)
}

fn buffer_lines(text: &str) -> Vec<BufferLine<'_>> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for line in split_lines(text) {
        let (content, brk) = split_break(line);
        lines.push(BufferLine {
            start: offset,
            content,
            brk,
        });
        offset += line.len();
    }
    lines
}

/// The buffer line at which each hunk's old lines start, found by search.
fn place_by_search(
    buffer: &[BufferLine<'_>],
    patch: &Patch,
) -> Result<Vec<Option<usize>>, Vec<HunkConflict>> {
    let count = buffer.len();
    let before: Vec<Vec<(&str, bool)>> = patch
        .hunks
        .iter()
        .map(|hunk| side(hunk, LineKind::Added))
        .collect();
    let mut conflicts: Vec<HunkConflict> = Vec::new();
    let conflict = |index: usize, buffer_line: usize, reason: ConflictReason| HunkConflict {
        index,
        old: patch.hunks[index].old,
        buffer_line: buffer_line.min(count),
        reason,
    };

    // Every place each hunk matches. A hunk whose new side ends without a
    // line break ends the agent's file, so it must reach the buffer's end.
    let mut candidates: Vec<Vec<usize>> = Vec::with_capacity(patch.hunks.len());
    for (index, hunk) in patch.hunks.iter().enumerate() {
        let wanted = &before[index];
        let mut found = if !wanted.is_empty() {
            all_matches(buffer, wanted)
        } else if count == 0 && (hunk.old.start == 0 || !hunk.header_matches) {
            vec![0]
        } else {
            Vec::new()
        };
        let anywhere = found.first().copied();
        if ends_file(hunk) {
            found.retain(|&at| at + wanted.len() == count);
        }
        if found.is_empty() {
            let stated = hunk.old.first_index();
            let after = side(hunk, LineKind::Removed);
            let already = all_matches(buffer, &after).first().copied();
            let (line, reason) = match (anywhere, already) {
                (Some(at), _) => (at, ConflictReason::NotAtEnd),
                (None, Some(at)) if after != *wanted => (at, ConflictReason::AlreadyApplied),
                _ if !wanted.is_empty() => (stated, ConflictReason::Changed),
                _ if hunk.old.start == 0 || !hunk.header_matches => {
                    (stated, ConflictReason::BufferNotEmpty)
                }
                _ => (stated, ConflictReason::NoContext),
            };
            conflicts.push(conflict(index, line, reason));
        }
        candidates.push(found);
    }

    // Keep the places that leave room for the other hunks in order: the
    // earliest each hunk can end going down, the latest each can start
    // going up. A hunk with no place at all is left out.
    let mut earliest: Vec<Option<usize>> = vec![None; patch.hunks.len()];
    let mut floor = 0;
    for (index, found) in candidates.iter().enumerate() {
        if found.is_empty() {
            continue;
        }
        match found.iter().find(|&&at| at >= floor) {
            Some(&at) => {
                earliest[index] = Some(at);
                floor = at + before[index].len();
            }
            None => conflicts.push(conflict(index, floor, ConflictReason::OutOfOrder)),
        }
    }
    let mut latest: Vec<Option<usize>> = vec![None; patch.hunks.len()];
    let mut ceiling = count;
    for index in (0..patch.hunks.len()).rev() {
        if earliest[index].is_none() {
            continue;
        }
        let fits = candidates[index]
            .iter()
            .rev()
            .find(|&&at| at + before[index].len() <= ceiling);
        if let Some(&at) = fits {
            latest[index] = Some(at);
            ceiling = at;
        }
    }
    let feasible: Vec<Vec<usize>> = (0..patch.hunks.len())
        .map(|index| match (earliest[index], latest[index]) {
            (Some(low), Some(high)) => candidates[index]
                .iter()
                .copied()
                .filter(|&at| low <= at && at <= high)
                .collect(),
            _ => Vec::new(),
        })
        .collect();

    // A hunk that still has several places is ambiguous, even if one of
    // them is at its stated line: the user's edits above it may have moved
    // its true place and brought an identical run of lines to that line.
    let mut placed: Vec<Option<usize>> = vec![None; patch.hunks.len()];
    for (index, hunk) in patch.hunks.iter().enumerate() {
        match feasible[index].as_slice() {
            [] => {}
            [only] => placed[index] = Some(*only),
            many => {
                let stated = hunk.old.first_index();
                let nearest = many
                    .iter()
                    .copied()
                    .min_by_key(|&at| at.abs_diff(stated))
                    .unwrap_or(stated);
                conflicts.push(conflict(
                    index,
                    nearest,
                    ConflictReason::Ambiguous {
                        lines: many.to_vec(),
                    },
                ));
            }
        }
    }

    if conflicts.is_empty() {
        Ok(placed)
    } else {
        Err(conflicts)
    }
}

/// Whether a hunk's new side ends without a line break: it ends the
/// agent's file, so its old lines must end the buffer.
fn ends_file(hunk: &Hunk) -> bool {
    side(hunk, LineKind::Removed)
        .last()
        .is_some_and(|(_, broken)| !broken)
}

/// The buffer line at which each hunk's old lines start, carried from
/// `base` through a line diff; `None` when `base` is not the diff's file or
/// the diff of `base` and the buffer is too large.
fn place_by_base(
    base: &[BufferLine<'_>],
    buffer: &[BufferLine<'_>],
    patch: &Patch,
) -> Option<Result<Vec<Option<usize>>, Vec<HunkConflict>>> {
    // Each hunk's place in `base` and its count of old lines: at its stated
    // line, or when its header is off, at its one place after the hunk
    // before.
    let mut in_base: Vec<(usize, usize)> = Vec::with_capacity(patch.hunks.len());
    let mut floor = 0;
    for hunk in &patch.hunks {
        let wanted = side(hunk, LineKind::Added);
        let at = if wanted.is_empty() {
            (base.is_empty() && hunk.old.start == 0).then_some(0)?
        } else if hunk.header_matches {
            let at = hunk.old.first_index();
            matches_at(base, at, &wanted).then_some(at)?
        } else {
            match all_matches(base, &wanted)
                .into_iter()
                .filter(|&at| at >= floor)
                .collect::<Vec<_>>()
                .as_slice()
            {
                [only] => *only,
                _ => return None,
            }
        };
        if at < floor || (ends_file(hunk) && at + wanted.len() != base.len()) {
            return None;
        }
        floor = at + wanted.len();
        in_base.push((at, wanted.len()));
    }

    let runs = equal_runs(base, buffer, Instant::now() + DIFF_DEADLINE)?;
    let mut placed = Vec::with_capacity(patch.hunks.len());
    let mut conflicts = Vec::new();
    for (index, (hunk, &(at, len))) in patch.hunks.iter().zip(&in_base).enumerate() {
        let conflict = |buffer_line: usize, reason: ConflictReason| HunkConflict {
            index,
            old: hunk.old,
            buffer_line: buffer_line.min(buffer.len()),
            reason,
        };
        let mapped = if len == 0 {
            // Only an empty file has a hunk without old lines.
            buffer.is_empty().then_some(0)
        } else {
            runs.iter()
                .find(|run| run.base <= at && at + len <= run.base + run.len)
                .map(|run| run.buffer + (at - run.base))
        };
        match mapped {
            Some(start) if ends_file(hunk) && start + len != buffer.len() => {
                conflicts.push(conflict(start, ConflictReason::NotAtEnd));
                placed.push(None);
            }
            Some(start) => placed.push(Some(start)),
            None => {
                let near = runs
                    .iter()
                    .rev()
                    .find(|run| run.base <= at)
                    .map_or(0, |run| run.buffer + (at - run.base).min(run.len));
                let reason = if len == 0 {
                    ConflictReason::BufferNotEmpty
                } else {
                    ConflictReason::Changed
                };
                conflicts.push(conflict(near, reason));
                placed.push(None);
            }
        }
    }
    Some(if conflicts.is_empty() {
        Ok(placed)
    } else {
        Err(conflicts)
    })
}

/// How long the line diff of `base` and the buffer may take. `similar`'s
/// Myers diff needs memory linear in the lines, but time grows with lines
/// times edits; past this the buffer is too far from the base to be worth
/// mapping, and placement falls back to search. (It runs on a blocking
/// thread.)
const DIFF_DEADLINE: Duration = Duration::from_secs(1);

/// A run of lines equal in `base` and the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EqualRun {
    base: usize,
    buffer: usize,
    len: usize,
}

/// The equal runs of a shortest line diff (`similar`'s Myers) of `a` and
/// `b`, in order and maximal; `None` when the diff was not done by
/// `deadline` (it is then only approximate). Line breaks' kinds are not
/// compared.
fn equal_runs<'a>(
    a: &[BufferLine<'a>],
    b: &[BufferLine<'a>],
    deadline: Instant,
) -> Option<Vec<EqualRun>> {
    // Lines as small keys (an id per distinct content, and whether it has
    // a break), so the diff compares integers, not strings.
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let mut key = |line: &BufferLine<'a>| {
        let next = ids.len();
        (*ids.entry(line.content).or_insert(next), line.broken())
    };
    let a_keys: Vec<(usize, bool)> = a.iter().map(&mut key).collect();
    let b_keys: Vec<(usize, bool)> = b.iter().map(&mut key).collect();
    let ops = similar::capture_diff_slices_deadline(
        similar::Algorithm::Myers,
        &a_keys,
        &b_keys,
        Some(deadline),
    );
    if Instant::now() > deadline {
        return None;
    }
    let mut runs: Vec<EqualRun> = Vec::new();
    for op in ops {
        let similar::DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        else {
            continue;
        };
        // Adjacent equal ops are one run: a hunk may span both.
        match runs.last_mut() {
            Some(last)
                if last.base + last.len == old_index && last.buffer + last.len == new_index =>
            {
                last.len += len;
            }
            _ => runs.push(EqualRun {
                base: old_index,
                buffer: new_index,
                len,
            }),
        }
    }
    Some(runs)
}

/// One replacement per placed hunk that changes something: the span from
/// its first to its last changed line, so the unchanged context around it
/// keeps its marks.
fn build_replacements(
    text: &str,
    buffer: &[BufferLine<'_>],
    patch: &Patch,
    placed: &[Option<usize>],
) -> Vec<Replacement> {
    let line_start = |index: usize| buffer.get(index).map_or(text.len(), |line| line.start);
    // Added lines take the buffer's line break when the diff's old lines
    // (the file on disk) all have one kind and the buffer's lines all have
    // another, `\n` or `\r\n`: the editor shows the file with other breaks.
    // Mixed breaks stay as the diff has them, and none becomes a lone `\r`,
    // which would fuse with a following empty `\n` line into one `\r\n`.
    let patch_break = uniform_break(patch.hunks.iter().flat_map(|hunk| {
        hunk.lines
            .iter()
            .filter(|line| line.kind != LineKind::Added)
            .map(|line| split_break(&line.text).1)
    }));
    let buffer_break = uniform_break(buffer.iter().map(|line| line.brk));
    let translate = match (patch_break, buffer_break) {
        (Some(from), Some(to)) if from != to && to != "\r" => Some((from, to)),
        _ => None,
    };

    let mut replacements = Vec::new();
    for (hunk, at) in patch.hunks.iter().zip(placed) {
        let Some(at) = *at else {
            continue;
        };
        let mut old_index = 0;
        let mut span: Option<(usize, usize)> = None;
        let mut new_text = String::new();
        let mut pending_context = String::new();
        for line in &hunk.lines {
            match line.kind {
                LineKind::Context => {
                    if span.is_some() {
                        let start = line_start(at + old_index);
                        let end = line_start(at + old_index + 1);
                        pending_context.push_str(&text[start..end]);
                    }
                    old_index += 1;
                }
                LineKind::Removed | LineKind::Added => {
                    let first = span.map_or(old_index, |(first, _)| first);
                    new_text.push_str(&pending_context);
                    pending_context.clear();
                    if line.kind == LineKind::Removed {
                        old_index += 1;
                    } else {
                        let (content, brk) = split_break(&line.text);
                        new_text.push_str(content);
                        new_text.push_str(match translate {
                            Some((from, to)) if brk == from => to,
                            _ => brk,
                        });
                    }
                    span = Some((first, old_index));
                }
            }
        }
        if let Some((first, end)) = span {
            replacements.push(Replacement {
                range: line_start(at + first)..line_start(at + end),
                new_text,
            });
        }
    }
    replacements
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::protocol::PatchApplyStatus;
    use serde_json::json;

    /// `text` with `replacements` applied, as the editor applies the edit;
    /// `None` when they are not in order, overlap, or do not fall on
    /// character boundaries of `text`.
    fn splice(text: &str, replacements: &[Replacement]) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        for replacement in replacements {
            out.push_str(text.get(copied..replacement.range.start)?);
            text.get(replacement.range.clone())?;
            out.push_str(&replacement.new_text);
            copied = replacement.range.end;
        }
        out.push_str(text.get(copied..)?);
        Some(out)
    }

    fn merge_on(base: Option<&str>, buffer: &str, diff: &str) -> Result<String, PatchError> {
        let patch = parse_unified_diff(diff)?;
        let replacements = apply_patch(base, buffer, &patch)?;
        for pair in replacements.windows(2) {
            assert!(pair[0].range.end <= pair[1].range.start, "{replacements:?}");
        }
        Ok(splice(buffer, &replacements).unwrap())
    }

    fn merge(buffer: &str, diff: &str) -> Result<String, PatchError> {
        merge_on(None, buffer, diff)
    }

    fn merge_with_base(base: &str, buffer: &str, diff: &str) -> Result<String, PatchError> {
        merge_on(Some(base), buffer, diff)
    }

    fn conflicts(result: Result<String, PatchError>) -> Vec<HunkConflict> {
        match result {
            Err(PatchError::Conflict(conflicts)) => conflicts,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    const OLD: &str = "fn a() {\n    one();\n}\n\nfn b() {\n    two();\n}\n";
    // As `similar` writes it with context radius 1.
    const DIFF: &str = "@@ -5,3 +5,3 @@\n fn b() {\n-    two();\n+    three();\n }\n";
    const NEW: &str = "fn a() {\n    one();\n}\n\nfn b() {\n    three();\n}\n";

    #[test]
    fn clean_apply_replaces_only_the_changed_lines() {
        let patch = parse_unified_diff(DIFF).unwrap();
        assert_eq!(patch.hunks.len(), 1);
        assert_eq!(patch.hunks[0].old, LineRange { start: 5, len: 3 });
        let replacements = apply_patch(None, OLD, &patch).unwrap();
        let start = OLD.find("    two").unwrap();
        assert_eq!(
            replacements,
            vec![Replacement {
                range: start..start + "    two();\n".len(),
                new_text: "    three();\n".to_string(),
            }]
        );
        assert_eq!(merge(OLD, DIFF).unwrap(), NEW);
    }

    #[test]
    fn offset_apply_after_edits_above_the_hunk() {
        let buffer = format!("// unsaved note\n// another\n{OLD}");
        assert_eq!(
            merge(&buffer, DIFF).unwrap(),
            format!("// unsaved note\n// another\n{NEW}")
        );
        // Lines removed above shift it up.
        let buffer = OLD.replacen("fn a() {\n    one();\n}\n", "", 1);
        assert_eq!(
            merge(&buffer, DIFF).unwrap(),
            NEW.replacen("fn a() {\n    one();\n}\n", "", 1)
        );
    }

    #[test]
    fn edits_below_and_next_to_the_hunk_are_kept() {
        let buffer = format!("{OLD}// typed below\n");
        assert_eq!(
            merge(&buffer, DIFF).unwrap(),
            format!("{NEW}// typed below\n")
        );
    }

    #[test]
    fn conflict_when_the_user_edited_the_hunks_lines() {
        let buffer = OLD.replace("    two();", "    two(); // mine");
        let found = conflicts(merge(&buffer, DIFF));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].index, 0);
        assert_eq!(found[0].old, LineRange { start: 5, len: 3 });
        assert_eq!(found[0].reason, ConflictReason::Changed);
        assert_eq!(found[0].buffer_line, 4);
        // The context counts too.
        let buffer = OLD.replace("fn b() {", "fn b(x: u8) {");
        assert_eq!(
            conflicts(merge(&buffer, DIFF))[0].reason,
            ConflictReason::Changed
        );
        // So does a line inserted inside the hunk.
        let buffer = OLD.replace("    two();\n", "    two();\n    extra();\n");
        assert_eq!(
            conflicts(merge(&buffer, DIFF))[0].reason,
            ConflictReason::Changed
        );
        // And trailing whitespace: there is no whitespace fuzz.
        let buffer = OLD.replace("    two();", "    two();  ");
        assert_eq!(
            conflicts(merge(&buffer, DIFF))[0].reason,
            ConflictReason::Changed
        );
    }

    #[test]
    fn the_error_names_the_hunk_and_why() {
        let buffer = OLD.replace("    two();", "    deux();");
        let err = merge(&buffer, DIFF).unwrap_err();
        assert_eq!(
            err.to_string(),
            "merge conflict: hunk 1 (@@ -5,3 @@) does not apply: the unsaved edits changed the lines it replaces"
        );
    }

    #[test]
    fn a_change_already_in_the_buffer_is_reported_as_such() {
        let found = conflicts(merge(NEW, DIFF));
        assert_eq!(found[0].reason, ConflictReason::AlreadyApplied);
        assert_eq!(found[0].buffer_line, 4);
    }

    #[test]
    fn repeated_lines_are_ambiguous_without_the_base() {
        let old = "x\n}\n\ny\n}\n\nz\n";
        // Insert a line between the second "}" and the blank line.
        let diff = "@@ -5,2 +5,3 @@\n }\n+added\n \n";
        // Even at its stated line: the user may have moved the first "}"
        // there.
        let found = conflicts(merge(old, diff));
        assert_eq!(
            found[0].reason,
            ConflictReason::Ambiguous { lines: vec![1, 4] }
        );
        assert_eq!(found[0].buffer_line, 4);
        let buffer = format!("top\n{old}");
        let found = conflicts(merge(&buffer, diff));
        assert_eq!(
            found[0].reason,
            ConflictReason::Ambiguous { lines: vec![2, 5] }
        );
        assert!(
            found[0].to_string().contains("matches at lines 3, 6"),
            "{}",
            found[0]
        );
        // The base tells which "}" it is, wherever the user's lines are.
        assert_eq!(
            merge_with_base(old, old, diff).unwrap(),
            "x\n}\n\ny\n}\nadded\n\nz\n"
        );
        assert_eq!(
            merge_with_base(old, &buffer, diff).unwrap(),
            "top\nx\n}\n\ny\n}\nadded\n\nz\n"
        );
        let buffer = "x\n}\n\nmine\n}\n\ny\n}\n\nz\n";
        assert_eq!(
            merge_with_base(old, buffer, diff).unwrap(),
            "x\n}\n\nmine\n}\n\ny\n}\nadded\n\nz\n"
        );
    }
    #[test]
    fn the_order_of_hunks_resolves_repeats() {
        let old = "}\n\na\nb\nc\n}\n\nd\n";
        let buffer = format!("top\n{old}");
        // The second "}" is the only one after the first hunk.
        let diff = "@@ -3,3 +3,3 @@\n a\n-b\n+B\n c\n@@ -6,2 +6,3 @@\n }\n+new\n \n";
        assert_eq!(
            merge(&buffer, diff).unwrap(),
            "top\n}\n\na\nB\nc\n}\nnew\n\nd\n"
        );
        // The first is the only one before the second hunk.
        let diff = "@@ -1,2 +1,3 @@\n }\n+new\n \n@@ -3,3 +4,3 @@\n a\n-b\n+B\n c\n";
        assert_eq!(
            merge(&buffer, diff).unwrap(),
            "top\n}\nnew\n\na\nB\nc\n}\n\nd\n"
        );
    }
    #[test]
    fn hunks_must_apply_in_order() {
        let old = "a\nb\nc\nd\ne\nf\n";
        let diff = "@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -5,2 +5,2 @@\n e\n-f\n+F\n";
        assert_eq!(merge(old, diff).unwrap(), "a\nB\nc\nd\ne\nF\n");
        // The user moved "e f" above "a b": the second hunk is only above the first.
        let found = conflicts(merge("e\nf\nc\nd\na\nb\n", diff));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].index, 1);
        assert_eq!(found[0].reason, ConflictReason::OutOfOrder);
    }

    #[test]
    fn multiple_hunks_report_every_conflict_and_apply_none() {
        let old: String = (1..=20).map(|n| format!("line {n}\n")).collect();
        let diff = "@@ -2,3 +2,3 @@\n line 2\n-line 3\n+LINE 3\n line 4\n\
                    @@ -10,3 +10,4 @@\n line 10\n-line 11\n+LINE 11\n+line 11b\n line 12\n\
                    @@ -18,3 +19,2 @@\n line 18\n-line 19\n line 20\n";
        let merged = merge(&old, diff).unwrap();
        let want = old
            .replace("line 3\n", "LINE 3\n")
            .replace("line 11\n", "LINE 11\nline 11b\n")
            .replace("line 19\n", "");
        assert_eq!(merged, want);
        let patch = parse_unified_diff(diff).unwrap();
        assert_eq!(apply_patch(None, &old, &patch).unwrap().len(), 3);

        let buffer = old
            .replace("line 11\n", "line eleven\n")
            .replace("line 19\n", "nineteen\n");
        let found = conflicts(merge(&buffer, diff));
        let named: Vec<(usize, String)> =
            found.iter().map(|c| (c.index, c.old.to_string())).collect();
        assert_eq!(
            named,
            vec![(1, "10,3".to_string()), (2, "18,3".to_string())]
        );
    }

    #[test]
    fn no_newline_at_end_of_file_on_either_side() {
        // The agent adds the final newline `similar` always writes.
        let diff = "@@ -2 +2 @@\n-b\n\\ No newline at end of file\n+b\n";
        assert_eq!(merge("a\nb", diff).unwrap(), "a\nb\n");
        // The buffer's line must also end without one: "b\n" is the
        // hunk's result, and "b" followed by more lines is not the end.
        assert_eq!(
            conflicts(merge("a\nb\n", diff))[0].reason,
            ConflictReason::AlreadyApplied
        );
        assert_eq!(
            conflicts(merge(
                "b\nc",
                "@@ -1 +1 @@\n-b\n\\ No newline at end of file\n+B\n"
            ))[0]
                .reason,
            ConflictReason::Changed
        );
        assert_eq!(
            conflicts(merge("a\nB", diff))[0].reason,
            ConflictReason::Changed
        );
        // The other way round, and a change of the last line.
        let diff = "@@ -1,2 +1,2 @@\n a\n-b\n+c\n\\ No newline at end of file\n";
        assert_eq!(merge("a\nb\n", diff).unwrap(), "a\nc");
        let diff = "@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n\\ No newline at end of file\n";
        assert_eq!(merge("x\na\nb", diff).unwrap(), "x\na\nb\nc");
        // A hunk that ends the file without a break cannot go before the
        // user's lines after it.
        let diff = "@@ -2 +2,2 @@\n b\n+c\n\\ No newline at end of file\n";
        assert_eq!(merge("a\nb\n", diff).unwrap(), "a\nb\nc");
        let found = conflicts(merge("a\nb\nmine\n", diff));
        assert_eq!(found[0].reason, ConflictReason::NotAtEnd);
        assert_eq!(found[0].buffer_line, 1);
        let diff = "@@ -1,2 +1,3 @@\n a\n-b\n\\ No newline at end of file\n+b\n+c\n\\ No newline at end of file\n";
        let patch = parse_unified_diff(diff).unwrap();
        assert_eq!(patch.hunks[0].lines[1].text, "b");
        assert_eq!(patch.hunks[0].lines[3].text, "c");
    }

    #[test]
    fn crlf_buffers_and_diffs() {
        let old = OLD.replace('\n', "\r\n");
        let new = NEW.replace('\n', "\r\n");
        let crlf_diff = DIFF.replace('\n', "\r\n");
        assert_eq!(merge(&old, &crlf_diff).unwrap(), new);
        // An LF diff of a CRLF buffer (or the other way round): the break's
        // kind is not compared, and added lines take the buffer's.
        assert_eq!(merge(&old, DIFF).unwrap(), new);
        assert_eq!(merge(OLD, &crlf_diff).unwrap(), NEW);
        // A CRLF file without a final newline.
        let diff = "@@ -1,2 +1,2 @@\r\n a\r\n-b\n\\ No newline at end of file\n+B\r\n";
        assert_eq!(merge("a\r\nb", diff).unwrap(), "a\r\nB\r\n");
        // A buffer with mixed breaks keeps the diff's.
        let mixed = "a\r\nb\nc\n";
        assert_eq!(
            merge(mixed, "@@ -2 +2 @@\n-b\n+B\n").unwrap(),
            "a\r\nB\nc\n"
        );
        assert_eq!(
            merge("a\r\nb\r\nc\n", "@@ -2 +2 @@\n-b\n+B\n").unwrap(),
            "a\r\nB\nc\n"
        );
        // Lone `\r` breaks (old Mac files) split lines as in LSP and `similar`,
        // and an LF diff's lines are never turned into lone `\r` lines: before
        // an empty `\n` line that would make one `\r\n` break of two.
        assert_eq!(
            merge("a\rb\rc\r", "@@ -2 +2 @@\n-b\r+B\r").unwrap(),
            "a\rB\rc\r"
        );
        assert_eq!(merge("a\rb\r", "@@ -2 +2 @@\n-b\n+B\n").unwrap(), "a\rB\n");
    }

    #[test]
    fn empty_files_and_empty_buffers() {
        let diff = "@@ -0,0 +1,2 @@\n+first\n+second\n";
        assert_eq!(merge("", diff).unwrap(), "first\nsecond\n");
        let found = conflicts(merge("typed\n", diff));
        assert_eq!(found[0].reason, ConflictReason::BufferNotEmpty);
        // The agent empties the file.
        let diff = "@@ -1,2 +0,0 @@\n-first\n-second\n";
        assert_eq!(merge("first\nsecond\n", diff).unwrap(), "");
        assert_eq!(
            conflicts(merge(
                "first\nsecond\nthird\n",
                "@@ -1,2 +0,0 @@\n-first\n-second\n\\ No newline at end of file\n"
            ))[0]
                .reason,
            ConflictReason::Changed
        );
        // An empty diff changes nothing.
        assert_eq!(parse_unified_diff("").unwrap(), Patch::default());
        assert_eq!(merge("text\n", "").unwrap(), "text\n");
    }

    #[test]
    fn a_hunk_without_context_cannot_be_placed() {
        let found = conflicts(merge("a\nb\n", "@@ -1,0 +2 @@\n+x\n"));
        assert_eq!(found[0].reason, ConflictReason::NoContext);
    }

    #[test]
    fn parses_headers_counts_and_file_headers() {
        let diff = "diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n@@ -3 +3,2 @@ fn section()\n-x\n+y\n+z\n";
        let patch = parse_unified_diff(diff).unwrap();
        assert_eq!(patch.hunks[0].old, LineRange { start: 3, len: 1 });
        assert_eq!(patch.hunks[0].new, LineRange { start: 3, len: 2 });
        assert_eq!(patch.hunks[0].old.to_string(), "3");
        // An empty line inside a hunk is an empty context line.
        let patch = parse_unified_diff("@@ -1,3 +1,3 @@\n a\n\n-b\n+c\n").unwrap();
        assert_eq!(
            patch.hunks[0].lines[1],
            HunkLine {
                kind: LineKind::Context,
                text: "\n".into()
            }
        );
    }

    #[test]
    fn a_header_that_counts_too_few_lines_is_read_to_the_next_header() {
        // Written by `similar` 2.7.0 (as codex uses it) for these files:
        // the first header says `+3,2` for a body of four new lines.
        let old = "    y();4\nreturn;\nx\n\n    y();\n    y();0\n    y();\nreturn;\n}4\n}\nx\nx\nfn a() {0\n\n";
        let new = "return;\n    y();1\nreturn;\nx\n\n    y();\n    y();0\n    y();\nreturn;\n}4\n}\nx\nx\nfn a() {0\n\n    y();0\n";
        let diff = "@@ -1,3 +3,2 @@\n-    y();4\n return;\n+    y();1\n+return;\n x\n@@ -14 +15,2 @@\n \n+    y();0\n";
        // The tests' diffs are `similar`'s, byte for byte.
        let lines = |text: &str| -> Vec<String> {
            text.split_inclusive('\n').map(str::to_string).collect()
        };
        assert_eq!(unified_diff(&lines(old), &lines(new)), diff);
        let patch = parse_unified_diff(diff).unwrap();
        let trusted: Vec<bool> = patch.hunks.iter().map(|hunk| hunk.header_matches).collect();
        assert_eq!(trusted, vec![false, true]);
        assert_eq!(patch.hunks[0].lines.len(), 5);
        assert_eq!(merge_with_base(old, old, diff).unwrap(), new);
        let buffer = format!("top\n{old}tail\n");
        assert_eq!(
            merge_with_base(old, &buffer, diff).unwrap(),
            format!("top\n{new}tail\n")
        );
        // Without the base the second hunk's one blank line is ambiguous.
        let found = conflicts(merge(old, diff));
        assert_eq!((found.len(), found[0].index), (1, 1));
        assert_eq!(
            found[0].reason,
            ConflictReason::Ambiguous { lines: vec![3, 13] }
        );
        // A hunk whose header is off is found in the base by search.
        let diff = "@@ -1 +1 @@\n-x\n+X\n y\n";
        assert!(!parse_unified_diff(diff).unwrap().hunks[0].header_matches);
        assert_eq!(merge("x\ny\nz\n", diff).unwrap(), "X\ny\nz\n");
        assert_eq!(
            merge_with_base("x\ny\nz\n", "0\nx\ny\nz\n", diff).unwrap(),
            "0\nX\ny\nz\n"
        );
        // When it repeats there, nothing tells which is meant.
        let found = conflicts(merge_with_base("x\ny\nx\ny\n", "x\ny\nx\ny\n", diff));
        assert_eq!(
            found[0].reason,
            ConflictReason::Ambiguous { lines: vec![0, 2] }
        );
    }

    #[test]
    fn with_the_base_the_users_edits_are_mapped_line_by_line() {
        // Edits in the hunk's lines conflict, named where they are.
        let buffer = OLD.replace("    two();", "    two(); // mine");
        let found = conflicts(merge_with_base(OLD, &buffer, DIFF));
        assert_eq!(found[0].reason, ConflictReason::Changed);
        assert_eq!(found[0].buffer_line, 4);
        // A line inserted between the hunk's lines conflicts too, even when
        // it repeats one of them.
        let buffer = OLD.replace("fn b() {\n", "fn b() {\nfn b() {\n");
        assert_eq!(
            conflicts(merge_with_base(OLD, &buffer, DIFF))[0].reason,
            ConflictReason::Changed
        );
        // Lines added and removed around it are fine.
        let buffer = OLD.replace("    one();\n", "    uno();\n    dos();\n") + "// end\n";
        assert_eq!(
            merge_with_base(OLD, &buffer, DIFF).unwrap(),
            NEW.replace("    one();\n", "    uno();\n    dos();\n") + "// end\n"
        );
        // A base that is not the diff's file is not used.
        assert_eq!(merge_with_base("unrelated\n", OLD, DIFF).unwrap(), NEW);
        // An empty file, and CRLF.
        assert_eq!(
            merge_with_base("", "", "@@ -0,0 +1 @@\n+a\n").unwrap(),
            "a\n"
        );
        assert_eq!(
            conflicts(merge_with_base("", "mine\n", "@@ -0,0 +1 @@\n+a\n"))[0].reason,
            ConflictReason::BufferNotEmpty
        );
        let crlf = |text: &str| text.replace('\n', "\r\n");
        assert_eq!(
            merge_with_base(&crlf(OLD), &crlf(&format!("//\n{OLD}")), DIFF).unwrap(),
            crlf(&format!("//\n{NEW}"))
        );
        // The end of the file stays the end.
        let diff = "@@ -2 +2,2 @@\n b\n+c\n\\ No newline at end of file\n";
        assert_eq!(
            merge_with_base("a\nb\n", "0\na\nb\n", diff).unwrap(),
            "0\na\nb\nc"
        );
        assert_eq!(
            conflicts(merge_with_base("a\nb\n", "a\nb\nmine\n", diff))[0].reason,
            ConflictReason::NotAtEnd
        );
    }

    #[test]
    fn equal_runs_follow_a_shortest_diff() {
        let later = || Instant::now() + Duration::from_secs(60);
        let runs = |a: &str, b: &str| {
            equal_runs(&buffer_lines(a), &buffer_lines(b), later())
                .unwrap()
                .iter()
                .map(|run| (run.base, run.buffer, run.len))
                .collect::<Vec<_>>()
        };
        assert_eq!(runs("a\nb\nc\n", "a\nb\nc\n"), vec![(0, 0, 3)]);
        assert_eq!(runs("a\nb\nc\n", "a\nx\nc\n"), vec![(0, 0, 1), (2, 2, 1)]);
        assert_eq!(
            runs("a\nb\nc\nd\n", "b\nc\nx\nd\ny\n"),
            vec![(1, 0, 2), (3, 3, 1)]
        );
        assert_eq!(runs("", "a\n"), vec![]);
        assert_eq!(runs("a\r\nb", "a\nb"), vec![(0, 0, 2)]);
        assert_eq!(runs("p\na\nb\nq\n", "p\nb\na\nq\n").len(), 3);
        // Runs the diff splits stay one run.
        assert_eq!(runs("a\na\nb\n", "a\na\nb\n"), vec![(0, 0, 3)]);
        // Past its deadline there is no diff.
        let (a, b) = (buffer_lines("a\nb\nc\n"), buffer_lines("x\ny\nz\n"));
        assert!(equal_runs(&a, &b, Instant::now()).is_none());
        assert!(equal_runs(&a, &b, later()).is_some());
    }
    #[test]
    fn a_buffer_thousands_of_edits_from_the_base_still_places_by_the_base() {
        // The hunk's lines repeat at the top, so search finds two places;
        // the base tells which. The user rewrote 700 lines in between
        // (1,400 line edits): a diff in linear memory still maps them.
        let middle = |tag: &str| -> String { (0..3000).map(|i| format!("{tag}{i}\n")).collect() };
        let base = format!("a\nb\n{}a\nb\n", middle("l"));
        let rewritten: String = (0..)
            .map(|i| format!("u{i}\n"))
            .take(700)
            .chain((700..3000).map(|i| format!("l{i}\n")))
            .collect();
        let buffer = format!("a\nb\n{rewritten}a\nb\n");
        let diff = "@@ -3003,2 +3003,2 @@\n a\n-b\n+B\n";
        assert!(matches!(
            conflicts(merge(&buffer, diff))[0].reason,
            ConflictReason::Ambiguous { .. }
        ));
        assert_eq!(
            merge_with_base(&base, &buffer, diff).unwrap(),
            format!("a\nb\n{rewritten}a\nB\n")
        );
    }

    #[test]
    fn malformed_diffs_are_rejected_with_their_line() {
        let cases: &[(&str, usize)] = &[
            ("*** Begin Patch\n*** Update File: f\n", 1),
            // The rangeless `@@` of `item/fileChange/patchUpdated`.
            ("@@ fn main\n-a\n+b\n", 1),
            ("@@\n-a\n+b\n", 1),
            ("@@ -1,2 +1,2 @@\n a\n", 1),
            ("@@ -1 +1 @@\n*a\n", 2),
            ("@@ -1 +1 @@\n-a\n+b\ngarbage\n", 4),
            ("@@ -3 +3 @@\n-c\n+C\n@@ -1 +1 @@\n-a\n+A\n", 4),
            ("@@ -1 +1 @@\n\\ No newline at end of file\n-a\n+b\n", 2),
            (
                "@@ -1,2 +1,2 @@\n-a\n\\ No newline at end of file\n-b\n+a\n+b\n",
                1,
            ),
            ("@@ -0 +1 @@\n+a\n", 1),
        ];
        for (diff, line) in cases {
            match parse_unified_diff(diff) {
                Err(PatchError::Malformed { line: found, .. }) => {
                    assert_eq!(found, *line, "{diff:?}")
                }
                other => panic!("{diff:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn reads_the_file_change_item_and_its_kinds() {
        let item = json!({
            "type": "fileChange",
            "id": "call_1",
            "status": "completed",
            "futureField": 1,
            "changes": [
                {"path": "/w/a.rs", "kind": {"type": "update", "move_path": null}, "diff": DIFF},
                {"path": "/w/b.rs", "kind": {"type": "update", "move_path": "/w/c.rs"},
                 "diff": format!("{DIFF}\n\nMoved to: /w/c.rs"), "extra": true},
                {"path": "/w/new.rs", "kind": {"type": "add"}, "diff": "fn new() {}\n"},
                {"path": "/w/old.rs", "kind": {"type": "delete"}, "diff": "gone\n"},
                {"path": "/w/d.rs", "kind": "update", "diff": ""},
                {"path": "/w/e.rs", "kind": {"type": "chmod"}, "diff": ""},
            ],
        });
        let parsed = FileChangeItem::from_item(&item).unwrap().unwrap();
        assert_eq!(parsed.id, "call_1");
        assert_eq!(parsed.status, PatchApplyStatus::Completed);
        let kinds: Vec<&PatchChangeKind> = parsed.changes.iter().map(|c| &c.kind).collect();
        assert_eq!(
            kinds,
            vec![
                &PatchChangeKind::Update { move_path: None },
                &PatchChangeKind::Update {
                    move_path: Some("/w/c.rs".into())
                },
                &PatchChangeKind::Add,
                &PatchChangeKind::Delete,
                &PatchChangeKind::Update { move_path: None },
                &PatchChangeKind::Unknown,
            ]
        );
        assert!(matches!(
            &parsed.changes[1].kind,
            PatchChangeKind::Update { move_path: Some(path) } if path == "/w/c.rs"
        ));
        assert_eq!(parsed.changes[1].update_diff(), Some(DIFF));
        assert_eq!(
            parsed.changes[1].merge_into_buffer(None, OLD).unwrap(),
            parsed.changes[0].merge_into_buffer(None, OLD).unwrap()
        );
        assert_eq!(parsed.changes[2].update_diff(), None);
        assert_eq!(
            parsed.changes[4].merge_into_buffer(None, "x\n").unwrap(),
            vec![]
        );
        // With the document's saved text as the base, repeats do not matter.
        let repeated = format!("{OLD}{OLD}");
        let twice = FileUpdateChange {
            diff: DIFF.to_string(),
            ..parsed.changes[0].clone()
        };
        assert!(matches!(
            twice.merge_into_buffer(None, &format!("//\n{repeated}")),
            Err(PatchError::Conflict(_))
        ));
        let merged = twice
            .merge_into_buffer(Some(&repeated), &format!("//\n{repeated}"))
            .unwrap();
        assert_eq!(
            splice(&format!("//\n{repeated}"), &merged).unwrap(),
            format!("//\n{NEW}{OLD}")
        );
        assert_eq!(
            parsed.changes[5].merge_into_buffer(None, "x\n"),
            Err(PatchError::UnknownKind)
        );
    }

    #[test]
    fn a_pure_move_has_an_empty_diff() {
        let change = FileUpdateChange {
            path: "/w/a.rs".into(),
            kind: PatchChangeKind::Update {
                move_path: Some("/w/b.rs".into()),
            },
            diff: "\n\nMoved to: /w/b.rs".into(),
        };
        assert_eq!(change.update_diff(), Some(""));
        assert_eq!(change.merge_into_buffer(None, "unsaved\n").unwrap(), vec![]);
        // Without a move the same text is not stripped, and is malformed.
        let change = FileUpdateChange {
            kind: PatchChangeKind::Update { move_path: None },
            ..change
        };
        assert!(matches!(
            change.merge_into_buffer(None, "x"),
            Err(PatchError::Malformed { .. })
        ));
    }

    #[test]
    fn add_and_delete_of_an_open_buffer() {
        let add = FileUpdateChange {
            path: "/w/n.rs".into(),
            kind: PatchChangeKind::Add,
            diff: "fn n() {}\n".into(),
        };
        assert_eq!(
            add.merge_into_buffer(None, "").unwrap(),
            vec![Replacement {
                range: 0..0,
                new_text: "fn n() {}\n".into()
            }]
        );
        assert_eq!(add.merge_into_buffer(None, "fn n() {}\n").unwrap(), vec![]);
        assert_eq!(
            add.merge_into_buffer(None, "// mine\n"),
            Err(PatchError::AddedOverText)
        );
        let delete = FileUpdateChange {
            path: "/w/n.rs".into(),
            kind: PatchChangeKind::Delete,
            diff: "fn n() {}\n".into(),
        };
        assert_eq!(
            delete.merge_into_buffer(Some("fn n() {}\n"), "fn n() {}\n"),
            Err(PatchError::Deleted)
        );
        assert_eq!(delete.merge_into_buffer(None, ""), Err(PatchError::Deleted));
    }

    #[test]
    fn splice_refuses_bad_ranges() {
        let r = |range: Range<usize>| Replacement {
            range,
            new_text: String::new(),
        };
        assert_eq!(splice("abc", &[r(0..1), r(2..3)]).as_deref(), Some("b"));
        assert_eq!(splice("abc", &[r(2..3), r(0..1)]), None);
        assert_eq!(splice("abc", &[r(1..5)]), None);
        assert_eq!(splice("é", &[r(1..2)]), None);
    }

    /// A small deterministic generator (xorshift), enough for a randomised
    /// check without a dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// The diff codex app-server sends for a change of `old` into `new`:
    /// `similar`'s unified diff with one line of context, as Codex writes it.
    fn unified_diff(old: &[String], new: &[String]) -> String {
        let (old, new) = (old.concat(), new.concat());
        similar::TextDiff::from_lines(&old, &new)
            .unified_diff()
            .context_radius(1)
            .to_string()
    }

    fn with_breaks(lines: &[String], brk: &str, final_break: bool) -> Vec<String> {
        let count = lines.len();
        lines
            .iter()
            .enumerate()
            .map(|(k, line)| {
                if k + 1 < count || final_break {
                    format!("{line}{brk}")
                } else {
                    line.clone()
                }
            })
            .collect()
    }

    /// A random merge: the file the agent changed, its new version and
    /// diff, and a buffer that is the old file with the user's lines
    /// (`user N`) inserted.
    struct RandomCase {
        old: String,
        new: String,
        diff: String,
        patch: Patch,
        buffer: String,
        users: usize,
        /// Whether a user's line sits strictly between two old lines of one
        /// hunk (or in an empty file the agent filled).
        inside: bool,
    }

    fn random_case(rng: &mut Rng, round: usize, repeated: bool) -> RandomCase {
        let brk = if round.is_multiple_of(3) {
            "\r\n"
        } else {
            "\n"
        };
        let mut fresh = 0;
        let mut line = |rng: &mut Rng, who: &str| {
            fresh += 1;
            if repeated {
                ["}", "", "x", "y"][rng.below(4)].to_string()
            } else {
                format!("{who} {fresh}")
            }
        };
        let old_plain: Vec<String> = (0..rng.below(30)).map(|_| line(rng, "line")).collect();
        let mut new_plain: Vec<String> = Vec::new();
        for kept in &old_plain {
            match rng.below(10) {
                0 => {}
                1 => new_plain.push(line(rng, "agent")),
                2 => {
                    new_plain.push(line(rng, "agent"));
                    new_plain.push(kept.clone());
                }
                _ => new_plain.push(kept.clone()),
            }
        }
        if rng.below(4) == 0 {
            new_plain.push(line(rng, "agent"));
        }
        // A last line without a break cannot be empty: it would be no line.
        let old_final = rng.below(5) != 0 || old_plain.last().is_some_and(String::is_empty);
        let new_final =
            old_final || rng.below(2) == 0 || new_plain.last().is_some_and(String::is_empty);
        let old = with_breaks(&old_plain, brk, old_final);
        let new = with_breaks(&new_plain, brk, new_final);
        let diff = unified_diff(&old, &new);
        let patch = parse_unified_diff(&diff).unwrap_or_else(|e| panic!("{e}\n{diff}"));

        let spans: Vec<(usize, usize)> = patch
            .hunks
            .iter()
            .map(|hunk| {
                let len = hunk
                    .lines
                    .iter()
                    .filter(|l| l.kind != LineKind::Added)
                    .count();
                (hunk.old.first_index(), hunk.old.first_index() + len)
            })
            .collect();
        let mut buffer = String::new();
        let (mut inside, mut users) = (false, 0);
        for k in 0..=old.len() {
            if rng.below(6) == 0 && (k < old.len() || old_final) {
                inside |= spans.iter().any(|&(s, e)| s < k && k < e);
                inside |= old.is_empty() && !patch.hunks.is_empty();
                buffer.push_str(&format!("user {users}{brk}"));
                users += 1;
            }
            if let Some(line) = old.get(k) {
                buffer.push_str(line);
            }
        }
        RandomCase {
            old: old.concat(),
            new: new.concat(),
            diff,
            patch,
            buffer,
            users,
            inside,
        }
    }

    /// Checks a merge's outcome: a success must be the agent's file with
    /// the user's lines kept, and only where no user's line is inside a
    /// hunk. Returns whether it succeeded.
    fn check_outcome(case: &RandomCase, outcome: Result<Vec<Replacement>, PatchError>) -> bool {
        let RandomCase { diff, buffer, .. } = case;
        match outcome {
            Ok(replacements) => {
                assert!(
                    !case.inside,
                    "merged across the user's lines:\n{diff}\n{buffer}"
                );
                let merged = splice(buffer, &replacements).unwrap();
                let theirs: String = split_lines(&merged)
                    .filter(|line| !line.starts_with("user "))
                    .collect();
                assert_eq!(theirs, case.new, "{diff}\n{buffer}");
                let mine = split_lines(&merged).filter(|line| line.starts_with("user "));
                assert_eq!(mine.count(), case.users);
                true
            }
            Err(PatchError::Conflict(_)) => false,
            Err(other) => panic!("{other}"),
        }
    }

    /// Random files of unique lines, random agent edits, random user
    /// insertions: with or without the base, a merge succeeds exactly when
    /// no user's line is inside a hunk, and then gives the agent's file
    /// plus the user's lines.
    #[test]
    fn randomised_merges_of_unique_lines_are_exact_or_conflicts() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut clean, mut conflicted) = (0, 0);
        for round in 0..400 {
            let case = random_case(&mut rng, round, false);
            // The unchanged buffer takes the diff exactly.
            let replacements = apply_patch(None, &case.old, &case.patch).unwrap();
            assert_eq!(splice(&case.old, &replacements).unwrap(), case.new);

            let searched = check_outcome(&case, apply_patch(None, &case.buffer, &case.patch));
            let based = check_outcome(
                &case,
                apply_patch(Some(&case.old), &case.buffer, &case.patch),
            );
            assert_eq!(searched, !case.inside, "{}\n{}", case.diff, case.buffer);
            assert_eq!(based, !case.inside, "{}\n{}", case.diff, case.buffer);
            if searched {
                clean += 1;
            } else {
                conflicted += 1;
            }
        }
        assert!(
            clean > 50 && conflicted > 50,
            "{clean} clean, {conflicted} conflicts"
        );
    }

    /// The same with lines drawn from `}`, ``, `x` and `y`, so that hunks
    /// repeat. With the base a merge is exact. Without it a merge may be a
    /// conflict where it need not be; where the user's line breaks a hunk's
    /// true place, an identical run elsewhere can take the hunk (the limit
    /// of placing by search, which `apply_patch` documents); where it does
    /// not, a success is exact.
    #[test]
    fn randomised_merges_of_repeated_lines_with_the_base_are_exact() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let (mut searched_clean, mut based_clean, mut conflicted, mut impostors) = (0, 0, 0, 0);
        for round in 0..600 {
            let case = random_case(&mut rng, round, true);
            let searched = apply_patch(None, &case.buffer, &case.patch);
            if case.inside {
                impostors += usize::from(searched.is_ok());
            } else if check_outcome(&case, searched) {
                searched_clean += 1;
            }
            let based = check_outcome(
                &case,
                apply_patch(Some(&case.old), &case.buffer, &case.patch),
            );
            assert_eq!(based, !case.inside, "{}\n{}", case.diff, case.buffer);
            if based {
                based_clean += 1;
            } else {
                conflicted += 1;
            }
        }
        assert!(
            searched_clean > 50 && based_clean > searched_clean && conflicted > 50,
            "{searched_clean} clean by search, {based_clean} with the base, {conflicted} conflicts"
        );
        // Placing by search did take an impostor run in some rounds; this is
        // why the caller should pass the base when it has it.
        assert!(impostors > 0);
    }
}
