//! The store of open documents, kept in sync with the client by LSP
//! `didOpen` / `didChange` / `didClose`.
//!
//! Documents are kept as [`Rope`]s so that an incremental edit costs
//! O(log n + size of the edit + length of the touched lines), and a
//! [`DocumentSnapshot`] is an O(1) clone that readers can use without
//! holding any lock on the store.

use std::sync::{Mutex, Weak};

use dashmap::DashMap;
use ropey::Rope;

use super::encoding::{PositionEncoding, PositionError, Range, char_index_lenient, char_range};
use super::follow::{AppliedChange, Followed, RangeFollower, advance};

/// One open document.
#[derive(Clone, Debug)]
pub struct Document {
    text: Rope,
    version: i32,
    language_id: String,
    /// Ranges that move with the changes (see [`DocumentStore::follow`]);
    /// a follower dropped by its owner is forgotten at the next change.
    followers: Vec<Weak<Mutex<Followed>>>,
}

impl Document {
    /// The current text.
    pub fn text(&self) -> &Rope {
        &self.text
    }

    /// The version the client last gave for this document.
    pub fn version(&self) -> i32 {
        self.version
    }

    /// The client's language identifier (e.g. `"rust"`).
    pub fn language_id(&self) -> &str {
        &self.language_id
    }
}

/// An immutable copy of a document at one version. Cloning is O(1).
#[derive(Clone, Debug)]
pub struct DocumentSnapshot {
    pub uri: String,
    pub text: Rope,
    pub version: i32,
    pub language_id: String,
}

/// One content change of a `didChange` notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextChange {
    /// The range to replace, relative to the text after the previous change
    /// of the same notification; `None` replaces the whole document.
    pub range: Option<Range>,
    /// The new text for the range.
    pub text: String,
}

impl TextChange {
    /// A change that replaces `range` with `text`.
    pub fn edit(range: Range, text: impl Into<String>) -> TextChange {
        TextChange {
            range: Some(range),
            text: text.into(),
        }
    }

    /// A change that replaces the whole document with `text`.
    pub fn full(text: impl Into<String>) -> TextChange {
        TextChange {
            range: None,
            text: text.into(),
        }
    }
}

/// Why a document operation failed.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum DocumentError {
    /// The client changed a document it never opened (or already closed).
    #[error("the document {0} is not open")]
    NotOpen(String),
    /// A position or range in the request could not be resolved.
    #[error(transparent)]
    Position(#[from] PositionError),
}

/// All documents the client has open, keyed by URI.
///
/// Safe to share between threads; no method holds a map guard beyond its
/// own call.
#[derive(Default, Debug)]
pub struct DocumentStore {
    docs: DashMap<String, Document>,
}

impl DocumentStore {
    /// An empty store.
    pub fn new() -> DocumentStore {
        DocumentStore::default()
    }

    /// Opens (or re-opens, replacing) a document.
    pub fn open(&self, uri: &str, text: &str, version: i32, language_id: &str) {
        self.docs.insert(
            uri.to_owned(),
            Document {
                text: Rope::from_str(text),
                version,
                language_id: language_id.to_owned(),
                followers: Vec::new(),
            },
        );
    }

    /// Applies the changes of one `didChange` notification in order, each
    /// range relative to the text after the previous change, and records
    /// `version`.
    ///
    /// Positions are resolved leniently (clamped, rounded down to a
    /// character boundary, reversed ranges reordered), so a misbehaving
    /// client cannot make this fail or desynchronise part of an edit.
    /// The only error is [`DocumentError::NotOpen`].
    pub fn apply_changes(
        &self,
        uri: &str,
        version: i32,
        changes: Vec<TextChange>,
        enc: PositionEncoding,
    ) -> Result<(), DocumentError> {
        self.apply_changes_recorded(uri, version, changes, enc)
            .map(drop)
    }

    /// [`DocumentStore::apply_changes`], returning each change as it was
    /// applied, in character indices of the text it applied to, so a caller
    /// can move its own ranges with them. The document's followers are
    /// moved before the store's lock is released, so no reader sees the new
    /// text with a follower still on the old one.
    pub fn apply_changes_recorded(
        &self,
        uri: &str,
        version: i32,
        changes: Vec<TextChange>,
        enc: PositionEncoding,
    ) -> Result<Vec<AppliedChange>, DocumentError> {
        let Some(mut doc) = self.docs.get_mut(uri) else {
            return Err(DocumentError::NotOpen(uri.to_owned()));
        };
        let mut applied = Vec::with_capacity(changes.len());
        for change in changes {
            match change.range {
                None => {
                    doc.text = Rope::from_str(&change.text);
                    applied.push(AppliedChange::Full);
                }
                Some(range) => {
                    let a = char_index_lenient(&doc.text, range.start, enc);
                    let b = char_index_lenient(&doc.text, range.end, enc);
                    let (start, end) = if a <= b { (a, b) } else { (b, a) };
                    if start < end {
                        doc.text.remove(start..end);
                    }
                    let inserted = change.text.chars().count();
                    if inserted > 0 {
                        doc.text.insert(start, &change.text);
                    }
                    applied.push(AppliedChange::Edit {
                        start,
                        end,
                        inserted,
                    });
                }
            }
        }
        doc.version = version;
        if !doc.followers.is_empty() {
            doc.followers.retain(|follower| advance(follower, &applied));
        }
        Ok(applied)
    }

    /// Starts following the characters `range` of the document as it was
    /// at `version`: the returned follower moves with every change the
    /// store applies from now on. If the document is no longer at
    /// `version`, the changes in between are unknown and the follower
    /// starts [`Followed::Resynced`]. `None` when the document is not open.
    pub fn follow(
        &self,
        uri: &str,
        version: i32,
        range: std::ops::Range<usize>,
    ) -> Option<RangeFollower> {
        let mut doc = self.docs.get_mut(uri)?;
        let start = if doc.version == version {
            Followed::At(range)
        } else {
            Followed::Resynced
        };
        let follower = RangeFollower::new(start);
        // Forget the followers dropped since the last change, so a document
        // nobody types in does not collect them.
        doc.followers.retain(|follower| follower.strong_count() > 0);
        doc.followers.push(follower.handle());
        Some(follower)
    }

    /// Closes a document, freeing it. Returns whether it was open.
    pub fn close(&self, uri: &str) -> bool {
        self.docs.remove(uri).is_some()
    }

    /// A snapshot of the document's current state, if it is open.
    pub fn snapshot(&self, uri: &str) -> Option<DocumentSnapshot> {
        let doc = self.docs.get(uri)?;
        Some(DocumentSnapshot {
            uri: uri.to_owned(),
            text: doc.text.clone(),
            version: doc.version,
            language_id: doc.language_id.clone(),
        })
    }

    /// Whether the document is open.
    pub fn contains(&self, uri: &str) -> bool {
        self.docs.contains_key(uri)
    }

    /// The URIs of all open documents, in no particular order.
    pub fn uris(&self) -> Vec<String> {
        self.docs.iter().map(|e| e.key().clone()).collect()
    }

    /// How many documents are open.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether no document is open.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

impl DocumentSnapshot {
    /// The text within `range`, resolved strictly (see
    /// [`super::encoding::char_range`]).
    pub fn text_in(&self, range: Range, enc: PositionEncoding) -> Result<String, PositionError> {
        let r = char_range(&self.text, range, enc)?;
        Ok(self.text.slice(r).to_string())
    }

    /// Number of lines; a document ending in a line terminator has an
    /// empty last line, and the empty document has one line.
    pub fn line_count(&self) -> usize {
        self.text.len_lines()
    }

    /// The whole text.
    pub fn contents(&self) -> String {
        self.text.to_string()
    }

    /// The zero-based first and last lines that `range` actually covers,
    /// after strict resolution (out-of-range positions clamp). A non-empty
    /// range that ends at the start of a line does not cover that line.
    pub fn line_span(
        &self,
        range: Range,
        enc: PositionEncoding,
    ) -> Result<(u32, u32), PositionError> {
        let r = char_range(&self.text, range, enc)?;
        let first = self.text.try_char_to_line(r.start).unwrap_or(0);
        let mut last = self.text.try_char_to_line(r.end).unwrap_or(first);
        if r.end > r.start && last > first && self.text.try_line_to_char(last).ok() == Some(r.end) {
            last -= 1;
        }
        let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Ok((to_u32(first), to_u32(last)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::encoding::{Position, char_index, position};
    use super::*;

    const ALL: [PositionEncoding; 3] = [
        PositionEncoding::Utf8,
        PositionEncoding::Utf16,
        PositionEncoding::Utf32,
    ];
    const URI: &str = "file:///t.rs";

    fn r(l1: u32, c1: u32, l2: u32, c2: u32) -> Range {
        Range::new(Position::new(l1, c1), Position::new(l2, c2))
    }

    fn store_with(text: &str) -> DocumentStore {
        let s = DocumentStore::new();
        s.open(URI, text, 1, "rust");
        s
    }

    fn text(s: &DocumentStore) -> String {
        s.snapshot(URI).map(|d| d.contents()).unwrap_or_default()
    }

    #[test]
    fn open_snapshot_close() {
        let s = DocumentStore::new();
        assert!(s.is_empty());
        s.open(URI, "fn main() {}\n", 3, "rust");
        s.open("file:///b", "x", 1, "toml");
        assert_eq!(s.len(), 2);
        assert!(s.contains(URI));
        let snap = s.snapshot(URI).unwrap();
        assert_eq!(snap.uri, URI);
        assert_eq!(snap.version, 3);
        assert_eq!(snap.language_id, "rust");
        assert_eq!(snap.contents(), "fn main() {}\n");
        assert_eq!(snap.line_count(), 2);
        let mut uris = s.uris();
        uris.sort();
        assert_eq!(uris, vec!["file:///b".to_owned(), URI.to_owned()]);
        assert!(s.close(URI));
        assert!(!s.close(URI));
        assert!(s.snapshot(URI).is_none());
        assert_eq!(s.len(), 1);
        // The snapshot survives the close.
        assert_eq!(snap.contents(), "fn main() {}\n");
    }

    #[test]
    fn reopen_replaces() {
        let s = store_with("old");
        s.open(URI, "new", 9, "python");
        let snap = s.snapshot(URI).unwrap();
        assert_eq!((snap.contents().as_str(), snap.version), ("new", 9));
        assert_eq!(snap.language_id, "python");
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn unknown_uri_is_not_open() {
        let s = DocumentStore::new();
        let err = s
            .apply_changes(
                "file:///nope",
                2,
                vec![TextChange::full("x")],
                PositionEncoding::Utf16,
            )
            .unwrap_err();
        assert_eq!(err, DocumentError::NotOpen("file:///nope".into()));
        assert_eq!(err.to_string(), "the document file:///nope is not open");
        assert!(s.is_empty());
    }

    #[test]
    fn snapshot_is_isolated_from_later_edits() {
        let s = store_with("abc");
        let before = s.snapshot(URI).unwrap();
        s.apply_changes(
            URI,
            2,
            vec![TextChange::edit(r(0, 1, 0, 2), "XYZ")],
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert_eq!(before.contents(), "abc");
        assert_eq!(before.version, 1);
        let after = s.snapshot(URI).unwrap();
        assert_eq!(after.contents(), "aXYZc");
        assert_eq!(after.version, 2);
    }

    #[test]
    fn incremental_edits_spanning_lines() {
        let s = store_with("line one\nline two\r\nline three\rline four");
        let e = PositionEncoding::Utf16;
        // Join "one" .. "two" across the LF.
        s.apply_changes(URI, 2, vec![TextChange::edit(r(0, 5, 1, 5), "1+")], e)
            .unwrap();
        assert_eq!(text(&s), "line 1+two\r\nline three\rline four");
        // Delete across the CRLF and the CR, each change relative to the previous.
        s.apply_changes(
            URI,
            3,
            vec![
                TextChange::edit(r(0, 10, 1, 0), " "),
                TextChange::edit(r(0, 21, 1, 5), "|"),
            ],
            e,
        )
        .unwrap();
        assert_eq!(text(&s), "line 1+two line three|four");
        assert_eq!(s.snapshot(URI).unwrap().version, 3);
        // Insert a multi-line text.
        s.apply_changes(
            URI,
            4,
            vec![TextChange::edit(r(0, 4, 0, 4), "\nA\r\nB\r")],
            e,
        )
        .unwrap();
        assert_eq!(text(&s), "line\nA\r\nB\r 1+two line three|four");
        assert_eq!(s.snapshot(URI).unwrap().line_count(), 4);
    }

    #[test]
    fn full_replacement_and_mixed() {
        let s = store_with("abc\ndef");
        s.apply_changes(
            URI,
            2,
            vec![
                TextChange::edit(r(0, 0, 0, 1), "Z"),
                TextChange::full("brand\nnew"),
                TextChange::edit(r(1, 0, 1, 0), "very "),
            ],
            PositionEncoding::Utf8,
        )
        .unwrap();
        assert_eq!(text(&s), "brand\nvery new");
    }

    #[test]
    fn insert_at_end_of_document() {
        for e in ALL {
            let s = store_with("a😀\n");
            // End position, given exactly and clamped from past the end.
            s.apply_changes(URI, 2, vec![TextChange::edit(r(1, 0, 1, 0), "x")], e)
                .unwrap();
            s.apply_changes(URI, 3, vec![TextChange::edit(r(9, 9, 9, 9), "y")], e)
                .unwrap();
            s.apply_changes(URI, 4, vec![TextChange::edit(r(1, 99, 1, 99), "z")], e)
                .unwrap();
            assert_eq!(text(&s), "a😀\nxyz", "{e:?}");
        }
    }

    #[test]
    fn delete_everything() {
        for e in ALL {
            let s = store_with("é😀\r\n→𝄞\rlast");
            s.apply_changes(URI, 2, vec![TextChange::edit(r(0, 0, 100, 0), "")], e)
                .unwrap();
            let snap = s.snapshot(URI).unwrap();
            assert_eq!(snap.contents(), "");
            assert_eq!(snap.line_count(), 1);
            s.apply_changes(URI, 3, vec![TextChange::edit(r(0, 0, 0, 0), "again")], e)
                .unwrap();
            assert_eq!(text(&s), "again");
        }
    }

    #[test]
    fn edits_in_all_three_encodings() {
        // Replace 𝄞 (after "é😀") with "G".
        let cases = [
            (PositionEncoding::Utf8, 6, 10),
            (PositionEncoding::Utf16, 3, 5),
            (PositionEncoding::Utf32, 2, 3),
        ];
        for (e, a, b) in cases {
            let s = store_with("x\né😀𝄞→");
            s.apply_changes(URI, 2, vec![TextChange::edit(r(1, a, 1, b), "G")], e)
                .unwrap();
            assert_eq!(text(&s), "x\né😀G→", "{e:?}");
        }
    }

    #[test]
    fn bad_positions_never_fail_an_edit() {
        // Inside the surrogate pair of 😀: rounds down to its start.
        let s = store_with("a😀b");
        s.apply_changes(
            URI,
            2,
            vec![TextChange::edit(r(0, 2, 0, 2), "X")],
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert_eq!(text(&s), "aX😀b");
        // Inside the UTF-8 bytes of é, both ends: replaces nothing.
        let s = store_with("é");
        s.apply_changes(
            URI,
            2,
            vec![TextChange::edit(r(0, 1, 0, 1), "Y")],
            PositionEncoding::Utf8,
        )
        .unwrap();
        assert_eq!(text(&s), "Yé");
        // Reversed range is reordered.
        let s = store_with("abcdef");
        s.apply_changes(
            URI,
            2,
            vec![TextChange::edit(r(0, 4, 0, 1), "-")],
            PositionEncoding::Utf32,
        )
        .unwrap();
        assert_eq!(text(&s), "a-ef");
    }

    #[test]
    fn separators_inside_lines_do_not_shift_positions() {
        let s = store_with("a\u{2028}b\u{0085}c\nd");
        s.apply_changes(
            URI,
            2,
            vec![TextChange::edit(r(1, 0, 1, 1), "D")],
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert_eq!(text(&s), "a\u{2028}b\u{0085}c\nD");
        s.apply_changes(
            URI,
            3,
            vec![TextChange::edit(r(0, 4, 0, 5), "C")],
            PositionEncoding::Utf16,
        )
        .unwrap();
        assert_eq!(text(&s), "a\u{2028}b\u{0085}C\nD");
    }

    #[test]
    fn text_in_is_strict() {
        let s = store_with("a😀b\nsecond");
        let snap = s.snapshot(URI).unwrap();
        let e = PositionEncoding::Utf16;
        assert_eq!(snap.text_in(r(0, 1, 0, 3), e).unwrap(), "😀");
        assert_eq!(snap.text_in(r(0, 3, 1, 3), e).unwrap(), "b\nsec");
        assert_eq!(snap.text_in(r(0, 0, 99, 0), e).unwrap(), "a😀b\nsecond");
        assert!(matches!(
            snap.text_in(r(0, 2, 0, 3), e),
            Err(PositionError::InsideCharacter {
                line: 0,
                character: 2
            })
        ));
        assert_eq!(
            snap.text_in(r(1, 0, 0, 0), e),
            Err(PositionError::RangeReversed)
        );
        assert_eq!(
            snap.text_in(r(0, 1, 0, 5), PositionEncoding::Utf8).unwrap(),
            "😀"
        );
        assert_eq!(
            snap.text_in(r(0, 1, 0, 2), PositionEncoding::Utf32)
                .unwrap(),
            "😀"
        );
    }

    #[test]
    fn line_span_excludes_line_ended_at_column_zero() {
        let s = store_with("l0\nl1\r\nl2\rl3\n");
        let snap = s.snapshot(URI).unwrap();
        let e = PositionEncoding::Utf16;
        assert_eq!(snap.line_span(r(0, 0, 1, 0), e), Ok((0, 0)));
        assert_eq!(snap.line_span(r(0, 0, 1, 1), e), Ok((0, 1)));
        assert_eq!(snap.line_span(r(1, 0, 3, 0), e), Ok((1, 2)));
        assert_eq!(snap.line_span(r(2, 1, 2, 1), e), Ok((2, 2)));
        assert_eq!(snap.line_span(r(3, 0, 3, 0), e), Ok((3, 3)));
        // Ending at the start of the empty last line.
        assert_eq!(snap.line_span(r(3, 0, 4, 0), e), Ok((3, 3)));
        assert_eq!(snap.line_span(r(4, 0, 4, 0), e), Ok((4, 4)));
        // Past-the-end clamps to the end of the document.
        assert_eq!(snap.line_span(r(0, 0, 50, 0), e), Ok((0, 3)));
        assert_eq!(
            snap.line_span(r(1, 0, 0, 0), e),
            Err(PositionError::RangeReversed)
        );
        // Ending past the end of a line clamps to its content, so same line.
        assert_eq!(snap.line_span(r(1, 0, 1, 99), e), Ok((1, 1)));
    }

    #[test]
    fn a_followed_range_moves_with_the_changes_until_they_touch_it() {
        let e = PositionEncoding::Utf16;
        let s = store_with("fn a() {\n    go();\n}\nfn b() {\n    go();\n}\n");
        // `    go();` of b, chars 30..39.
        let follower = s.follow(URI, 1, 30..39).unwrap();
        let stale = s.follow(URI, 0, 30..39).unwrap();
        assert_eq!(stale.now(), Followed::Resynced, "unknown changes since");
        s.apply_changes(URI, 2, vec![TextChange::edit(r(0, 0, 0, 0), "// 😀\n")], e)
            .unwrap();
        assert_eq!(follower.now(), Followed::At(35..44));
        let snap = s.snapshot(URI).unwrap();
        assert_eq!(snap.text.slice(35..44).to_string(), "    go();");
        // Typing after it, then inside it.
        s.apply_changes(URI, 3, vec![TextChange::edit(r(5, 9, 5, 9), " // end")], e)
            .unwrap();
        assert_eq!(follower.now(), Followed::At(35..44));
        s.apply_changes(URI, 4, vec![TextChange::edit(r(5, 6, 5, 6), "x")], e)
            .unwrap();
        assert_eq!(follower.now(), Followed::Changed);
        // A full sync loses a range, and a dropped follower is forgotten.
        let other = s.follow(URI, 4, 0..2).unwrap();
        let recorded = s
            .apply_changes_recorded(URI, 5, vec![TextChange::full("new")], e)
            .unwrap();
        assert_eq!(recorded, vec![AppliedChange::Full]);
        assert_eq!(other.now(), Followed::Resynced);
        drop((follower, stale, other));
        s.apply_changes(URI, 6, vec![TextChange::full("x")], e)
            .unwrap();
        assert!(s.docs.get(URI).unwrap().followers.is_empty());
        assert!(s.follow("file:///closed", 1, 0..1).is_none());
    }

    #[test]
    fn store_is_shareable_across_threads() {
        let s = std::sync::Arc::new(store_with(""));
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        s.apply_changes(
                            URI,
                            i,
                            vec![TextChange::edit(r(0, 0, 0, 0), "x")],
                            PositionEncoding::Utf8,
                        )
                        .unwrap();
                        let _ = s.snapshot(URI);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(text(&s).len(), 400);
    }

    // ---- randomized comparison against a naive String model ----

    /// xorshift64* — deterministic, dependency-free.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            if n == 0 { 0 } else { self.next() % n }
        }
    }

    const PIECES: &[&str] = &[
        "a", "b", "z", " ", "é", "→", "😀", "𝄞", "\n", "\r", "\r\n", "\u{2028}", "\u{0085}", "\t",
        "fn ", "\u{FEFF}",
    ];

    fn random_text(rng: &mut Rng, max_pieces: u64) -> String {
        let n = rng.below(max_pieces + 1);
        (0..n)
            .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
            .collect()
    }

    fn units(c: char, e: PositionEncoding) -> usize {
        match e {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        }
    }

    /// Byte ranges `(content_start, content_end)` of each line, splitting
    /// only at "\n", "\r\n" and "\r", computed by walking chars.
    fn model_lines(s: &str) -> Vec<(usize, usize)> {
        let mut lines = Vec::new();
        let mut start = 0;
        let mut it = s.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            match c {
                '\n' => {
                    lines.push((start, i));
                    start = i + 1;
                }
                '\r' => {
                    lines.push((start, i));
                    if let Some(&(_, '\n')) = it.peek() {
                        it.next();
                        start = i + 2;
                    } else {
                        start = i + 1;
                    }
                }
                _ => {}
            }
        }
        lines.push((start, s.len()));
        lines
    }

    /// Lenient position → byte offset in the model, independently of ropey.
    fn model_offset(s: &str, pos: Position, e: PositionEncoding) -> usize {
        let lines = model_lines(s);
        let Some(&(start, end)) = lines.get(pos.line as usize) else {
            return s.len();
        };
        let mut seen = 0usize;
        for (i, c) in s[start..end].char_indices() {
            let u = units(c, e);
            if seen + u > pos.character as usize {
                return start + i; // at or inside c: round down
            }
            seen += u;
        }
        end
    }

    /// Strict resolution in the model: None when inside a character.
    fn model_strict(s: &str, pos: Position, e: PositionEncoding) -> Option<usize> {
        let lines = model_lines(s);
        let Some(&(start, end)) = lines.get(pos.line as usize) else {
            return Some(s.len());
        };
        let mut seen = 0usize;
        for (i, c) in s[start..end].char_indices() {
            if seen == pos.character as usize {
                return Some(start + i);
            }
            seen += units(c, e);
            if seen > pos.character as usize {
                return None;
            }
        }
        Some(end)
    }

    fn random_position(rng: &mut Rng, s: &str) -> Position {
        let lines = model_lines(s).len() as u64;
        let line = rng.below(lines + 2) as u32;
        let character = if rng.below(10) == 0 {
            rng.below(u64::from(u32::MAX)) as u32
        } else {
            rng.below(14) as u32
        };
        Position::new(line, character)
    }

    fn run_random(seed: u64, initial_pieces: u64, rounds: usize, edits_per_round: usize) {
        let mut rng = Rng(seed);
        for e in ALL {
            for round in 0..rounds {
                let initial = random_text(&mut rng, initial_pieces);
                let s = store_with(&initial);
                let mut model = initial.clone();
                // A random range followed through every step: while it is
                // `At`, it holds the text it started with.
                let len = initial.chars().count() as u64;
                let a = rng.below(len + 1) as usize;
                let b = rng.below(len + 1) as usize;
                let followed = a.min(b)..a.max(b);
                let followed_text: String = initial
                    .chars()
                    .skip(followed.start)
                    .take(followed.len())
                    .collect();
                let follower = s.follow(URI, 1, followed).unwrap();
                for step in 0..edits_per_round {
                    let n_changes = 1 + rng.below(3) as usize;
                    let mut changes = Vec::new();
                    for _ in 0..n_changes {
                        let change = if rng.below(25) == 0 {
                            TextChange::full(random_text(&mut rng, 8))
                        } else {
                            let a = random_position(&mut rng, &model);
                            let b = random_position(&mut rng, &model);
                            TextChange::edit(Range::new(a, b), random_text(&mut rng, 4))
                        };
                        // Apply to the model right away: later changes are
                        // relative to it.
                        match change.range {
                            None => model = change.text.clone(),
                            Some(range) => {
                                let x = model_offset(&model, range.start, e);
                                let y = model_offset(&model, range.end, e);
                                let (lo, hi) = (x.min(y), x.max(y));
                                model.replace_range(lo..hi, &change.text);
                            }
                        }
                        changes.push(change);
                    }
                    let version = (step + 2) as i32;
                    s.apply_changes(URI, version, changes.clone(), e).unwrap();
                    let snap = s.snapshot(URI).unwrap();
                    assert_eq!(
                        snap.contents(),
                        model,
                        "seed {seed} {e:?} round {round} step {step} initial {initial:?} changes {changes:?}"
                    );
                    assert_eq!(snap.version, version);
                    assert_eq!(snap.line_count(), model_lines(&model).len());
                    if let Followed::At(at) = follower.now() {
                        assert_eq!(
                            snap.text.slice(at).to_string(),
                            followed_text,
                            "seed {seed} {e:?} round {round} step {step}"
                        );
                    }

                    // Strict resolution agrees with the model too.
                    let pos = random_position(&mut rng, &model);
                    let strict = char_index(&snap.text, pos, e);
                    match model_strict(&model, pos, e) {
                        None => assert!(
                            matches!(strict, Err(PositionError::InsideCharacter { .. })),
                            "{model:?} {pos:?} {e:?}"
                        ),
                        Some(byte) => {
                            let idx = strict.unwrap();
                            assert_eq!(
                                snap.text.char_to_byte(idx),
                                byte,
                                "{model:?} {pos:?} {e:?}"
                            );
                            // And the inverse lands back on the same index.
                            let back = position(&snap.text, idx, e);
                            assert_eq!(char_index(&snap.text, back, e), Ok(idx));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn random_edits_match_string_model_small_docs() {
        run_random(0x9E37_79B9_7F4A_7C15, 20, 150, 25);
    }

    #[test]
    fn random_edits_match_string_model_multi_chunk_docs() {
        // Documents of several KiB span many rope leaves, so edits and line
        // terminators cross chunk boundaries.
        run_random(0xD1B5_4A32_D192_ED03, 3000, 6, 60);
    }
}
