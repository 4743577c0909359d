//! Position encodings and conversions between LSP positions and rope char indices.
//!
//! An LSP [`Position`] is a zero-based `(line, character)` pair where the
//! meaning of `character` depends on the negotiated [`PositionEncoding`]:
//! UTF-8 bytes, UTF-16 code units or Unicode scalar values, counted from the
//! start of the line. Lines break only at `\n`, `\r\n` and `\r`.
//!
//! Every conversion here costs O(log n + length of the one line involved):
//! the line is located through the rope's line index and the offset within
//! the line is computed on that line's slice alone.

use ropey::{Rope, RopeSlice};

/// How the `character` field of a [`Position`] counts within a line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PositionEncoding {
    /// `character` counts UTF-8 bytes.
    Utf8,
    /// `character` counts UTF-16 code units (the LSP default).
    #[default]
    Utf16,
    /// `character` counts Unicode scalar values.
    Utf32,
}

impl PositionEncoding {
    /// Picks the encoding to use from the encodings a client offers
    /// (`general.positionEncodings`, in the client's order of preference).
    ///
    /// UTF-8 is chosen whenever it is offered, as it is the cheapest for us;
    /// otherwise UTF-16, which every client must support and which is also
    /// the default when nothing is offered.
    pub fn negotiate(offered: &[&str]) -> PositionEncoding {
        if offered
            .iter()
            .any(|s| PositionEncoding::parse(s) == Some(PositionEncoding::Utf8))
        {
            PositionEncoding::Utf8
        } else {
            PositionEncoding::Utf16
        }
    }

    /// Parses an LSP encoding name (`"utf-8"`, `"utf-16"`, `"utf-32"`);
    /// ASCII case and surrounding whitespace are ignored.
    pub fn parse(name: &str) -> Option<PositionEncoding> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("utf-8") {
            Some(PositionEncoding::Utf8)
        } else if name.eq_ignore_ascii_case("utf-16") {
            Some(PositionEncoding::Utf16)
        } else if name.eq_ignore_ascii_case("utf-32") {
            Some(PositionEncoding::Utf32)
        } else {
            None
        }
    }

    /// The LSP name of this encoding.
    pub fn as_str(&self) -> &'static str {
        match self {
            PositionEncoding::Utf8 => "utf-8",
            PositionEncoding::Utf16 => "utf-16",
            PositionEncoding::Utf32 => "utf-32",
        }
    }
}

/// A zero-based line and character offset, as in LSP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

impl Position {
    pub const fn new(line: u32, character: u32) -> Position {
        Position { line, character }
    }
}

/// A half-open range `[start, end)` between two positions, as in LSP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

impl Range {
    pub const fn new(start: Position, end: Position) -> Range {
        Range { start, end }
    }
}

/// Why a position or range could not be resolved strictly.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum PositionError {
    /// The character offset lands in the middle of a character that takes
    /// several code units (a UTF-16 surrogate pair or a multi-byte UTF-8
    /// sequence).
    #[error(
        "line {line}, character {character} points into the middle of a character \
         (lines and characters are counted from 0); a position must fall between characters"
    )]
    InsideCharacter { line: u32, character: u32 },
    /// The range's start resolves to a point after its end.
    #[error("the range starts after it ends")]
    RangeReversed,
}

/// Length in chars of a line's line terminator (`\n`, `\r\n`, `\r`, or none).
fn terminator_len(line: RopeSlice<'_>) -> usize {
    let n = line.len_chars();
    match n.checked_sub(1).and_then(|i| line.get_char(i)) {
        Some('\n') => {
            if n >= 2 && line.get_char(n - 2) == Some('\r') {
                2
            } else {
                1
            }
        }
        Some('\r') => 1,
        _ => 0,
    }
}

/// Result of resolving a position: the char index, and whether the
/// requested offset fell inside a character (and was rounded down).
struct Resolved {
    char_idx: usize,
    inside: bool,
}

fn resolve(rope: &Rope, pos: Position, enc: PositionEncoding) -> Resolved {
    let line_idx = pos.line as usize;
    let line_start = match rope.try_line_to_char(line_idx) {
        Ok(start) if line_idx < rope.len_lines() => start,
        // A line past the last line clamps to the end of the document.
        _ => {
            return Resolved {
                char_idx: rope.len_chars(),
                inside: false,
            };
        }
    };
    let Some(line) = rope.get_line(line_idx) else {
        return Resolved {
            char_idx: rope.len_chars(),
            inside: false,
        };
    };
    let content_len = line.len_chars() - terminator_len(line);
    let content = line.slice(..content_len);
    let want = pos.character as usize;

    let (offset, inside) = match enc {
        PositionEncoding::Utf32 => (want.min(content_len), false),
        PositionEncoding::Utf16 => {
            if want >= content.len_utf16_cu() {
                (content_len, false)
            } else {
                let c = content.try_utf16_cu_to_char(want).unwrap_or(content_len);
                let back = content.try_char_to_utf16_cu(c).unwrap_or(want);
                (c, back != want)
            }
        }
        PositionEncoding::Utf8 => {
            if want >= content.len_bytes() {
                (content_len, false)
            } else {
                let c = content.try_byte_to_char(want).unwrap_or(content_len);
                let back = content.try_char_to_byte(c).unwrap_or(want);
                (c, back != want)
            }
        }
    };
    Resolved {
        char_idx: line_start + offset,
        inside,
    }
}

/// Resolves an LSP position to a char index in `rope`.
///
/// A line past the last line clamps to the end of the document; a character
/// past the end of its line clamps to the end of the line's content (before
/// its terminator). A character offset that falls inside a multi-unit
/// character is [`PositionError::InsideCharacter`].
pub fn char_index(
    rope: &Rope,
    pos: Position,
    enc: PositionEncoding,
) -> Result<usize, PositionError> {
    let r = resolve(rope, pos, enc);
    if r.inside {
        Err(PositionError::InsideCharacter {
            line: pos.line,
            character: pos.character,
        })
    } else {
        Ok(r.char_idx)
    }
}

/// Like [`char_index`], but a position inside a multi-unit character rounds
/// down to the start of that character. Never fails.
pub fn char_index_lenient(rope: &Rope, pos: Position, enc: PositionEncoding) -> usize {
    resolve(rope, pos, enc).char_idx
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The range of whole lines `first..=last` (0-based, clamped to the
/// document): from the start of `first` to the end of `last`, before its
/// line break.
pub fn lines_range(rope: &Rope, first: u32, last: u32, enc: PositionEncoding) -> Range {
    let start = position(
        rope,
        char_index_lenient(rope, Position::new(first, 0), enc),
        enc,
    );
    let end_char = char_index_lenient(rope, Position::new(last, u32::MAX), enc);
    Range::new(start, position(rope, end_char, enc))
}

/// The LSP position of the char index `char_idx` (clamped to the end of the
/// document). Inverse of [`char_index`] for indices that do not fall between
/// the `\r` and `\n` of a `\r\n` terminator.
pub fn position(rope: &Rope, char_idx: usize, enc: PositionEncoding) -> Position {
    let char_idx = char_idx.min(rope.len_chars());
    let line_idx = rope.try_char_to_line(char_idx).unwrap_or(0);
    let line_start = rope.try_line_to_char(line_idx).unwrap_or(0).min(char_idx);
    let before = rope.slice(line_start..char_idx);
    let character = match enc {
        PositionEncoding::Utf32 => before.len_chars(),
        PositionEncoding::Utf16 => before.len_utf16_cu(),
        PositionEncoding::Utf8 => before.len_bytes(),
    };
    Position {
        line: to_u32(line_idx),
        character: to_u32(character),
    }
}

/// Resolves an LSP range strictly to a char range in `rope`.
///
/// Each end is resolved as by [`char_index`]; if the start then lies after
/// the end the result is [`PositionError::RangeReversed`].
pub fn char_range(
    rope: &Rope,
    range: Range,
    enc: PositionEncoding,
) -> Result<std::ops::Range<usize>, PositionError> {
    let start = char_index(rope, range.start, enc)?;
    let end = char_index(rope, range.end, enc)?;
    if start > end {
        Err(PositionError::RangeReversed)
    } else {
        Ok(start..end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_range_spans_whole_lines_without_their_break() {
        let rope = Rope::from_str("ab\r\n😀c\nlast");
        let enc = PositionEncoding::Utf16;
        let range = |first, last| lines_range(&rope, first, last, enc);
        assert_eq!(
            range(0, 0),
            Range::new(Position::new(0, 0), Position::new(0, 2))
        );
        assert_eq!(
            range(0, 1),
            Range::new(Position::new(0, 0), Position::new(1, 3))
        );
        assert_eq!(
            range(2, 9),
            Range::new(Position::new(2, 0), Position::new(2, 4))
        );
    }

    const ALL: [PositionEncoding; 3] = [
        PositionEncoding::Utf8,
        PositionEncoding::Utf16,
        PositionEncoding::Utf32,
    ];

    fn p(line: u32, character: u32) -> Position {
        Position::new(line, character)
    }

    #[test]
    fn negotiate_prefers_utf8_then_utf16() {
        use PositionEncoding::*;
        assert_eq!(PositionEncoding::negotiate(&[]), Utf16);
        assert_eq!(PositionEncoding::negotiate(&["utf-16"]), Utf16);
        assert_eq!(PositionEncoding::negotiate(&["utf-32"]), Utf16);
        assert_eq!(PositionEncoding::negotiate(&["utf-32", "utf-16"]), Utf16);
        assert_eq!(PositionEncoding::negotiate(&["utf-16", "utf-8"]), Utf8);
        assert_eq!(PositionEncoding::negotiate(&["utf-32", "utf-8"]), Utf8);
        assert_eq!(PositionEncoding::negotiate(&["UTF-8"]), Utf8);
        assert_eq!(PositionEncoding::negotiate(&["latin-1"]), Utf16);
        assert_eq!(PositionEncoding::default(), Utf16);
        for e in ALL {
            assert_eq!(PositionEncoding::parse(e.as_str()), Some(e));
        }
        assert_eq!(Utf8.as_str(), "utf-8");
        assert_eq!(Utf16.as_str(), "utf-16");
        assert_eq!(Utf32.as_str(), "utf-32");
    }

    #[test]
    fn astral_and_multibyte_offsets() {
        // 'a' 1/1/1, 'é' 2/1/1, '😀' 4/2/1, '→' 3/1/1, '𝄞' 4/2/1, 'b'
        let rope = Rope::from_str("aé😀→𝄞b\nx");
        let b_char = 5;
        assert_eq!(
            char_index(&rope, p(0, 14), PositionEncoding::Utf8),
            Ok(b_char)
        );
        assert_eq!(
            char_index(&rope, p(0, 7), PositionEncoding::Utf16),
            Ok(b_char)
        );
        assert_eq!(
            char_index(&rope, p(0, 5), PositionEncoding::Utf32),
            Ok(b_char)
        );
        // Start of 😀.
        assert_eq!(char_index(&rope, p(0, 3), PositionEncoding::Utf8), Ok(2));
        assert_eq!(char_index(&rope, p(0, 2), PositionEncoding::Utf16), Ok(2));
        // Start of 𝄞.
        assert_eq!(char_index(&rope, p(0, 10), PositionEncoding::Utf8), Ok(4));
        assert_eq!(char_index(&rope, p(0, 5), PositionEncoding::Utf16), Ok(4));
        // Next line.
        for e in ALL {
            assert_eq!(char_index(&rope, p(1, 0), e), Ok(7));
            assert_eq!(char_index(&rope, p(1, 1), e), Ok(8));
            assert_eq!(position(&rope, 8, e), p(1, 1));
        }
        assert_eq!(position(&rope, b_char, PositionEncoding::Utf8), p(0, 14));
        assert_eq!(position(&rope, b_char, PositionEncoding::Utf16), p(0, 7));
        assert_eq!(position(&rope, b_char, PositionEncoding::Utf32), p(0, 5));
    }

    #[test]
    fn inside_surrogate_pair_is_strict_error_and_lenient_rounds_down() {
        let rope = Rope::from_str("a😀b𝄞");
        let e = PositionEncoding::Utf16;
        assert_eq!(
            char_index(&rope, p(0, 2), e),
            Err(PositionError::InsideCharacter {
                line: 0,
                character: 2
            })
        );
        assert_eq!(char_index_lenient(&rope, p(0, 2), e), 1);
        assert_eq!(char_index(&rope, p(0, 3), e), Ok(2));
        assert!(char_index(&rope, p(0, 5), e).is_err());
        assert_eq!(char_index_lenient(&rope, p(0, 5), e), 3);
        assert_eq!(char_index(&rope, p(0, 6), e), Ok(4));
    }

    #[test]
    fn inside_utf8_sequence_is_strict_error_and_lenient_rounds_down() {
        let rope = Rope::from_str("é→😀x");
        let e = PositionEncoding::Utf8;
        // é = bytes 0..2, → = 2..5, 😀 = 5..9, x = 9
        assert!(char_index(&rope, p(0, 1), e).is_err());
        assert_eq!(char_index_lenient(&rope, p(0, 1), e), 0);
        assert_eq!(char_index(&rope, p(0, 2), e), Ok(1));
        for b in 3..5 {
            assert!(char_index(&rope, p(0, b), e).is_err());
            assert_eq!(char_index_lenient(&rope, p(0, b), e), 1);
        }
        for b in 6..9 {
            assert_eq!(
                char_index(&rope, p(0, b), e),
                Err(PositionError::InsideCharacter {
                    line: 0,
                    character: b
                })
            );
            assert_eq!(char_index_lenient(&rope, p(0, b), e), 2);
        }
        assert_eq!(char_index(&rope, p(0, 9), e), Ok(3));
        // Utf32 never lands inside a character.
        for c in 0..10 {
            assert!(char_index(&rope, p(0, c), PositionEncoding::Utf32).is_ok());
        }
    }

    #[test]
    fn crlf_and_lone_cr_break_lines() {
        let rope = Rope::from_str("ab\r\ncd\ref\ngh");
        assert_eq!(rope.len_lines(), 4);
        for e in ALL {
            assert_eq!(char_index(&rope, p(0, 2), e), Ok(2));
            // Past the end of the line clamps before "\r\n".
            assert_eq!(char_index(&rope, p(0, 3), e), Ok(2));
            assert_eq!(char_index(&rope, p(0, 99), e), Ok(2));
            assert_eq!(char_index(&rope, p(1, 0), e), Ok(4));
            assert_eq!(char_index(&rope, p(1, 5), e), Ok(6));
            assert_eq!(char_index(&rope, p(2, 0), e), Ok(7));
            assert_eq!(char_index(&rope, p(2, 9), e), Ok(9));
            assert_eq!(char_index(&rope, p(3, 2), e), Ok(12));
            assert_eq!(char_index(&rope, p(3, 3), e), Ok(12));
            assert_eq!(position(&rope, 4, e), p(1, 0));
            assert_eq!(position(&rope, 7, e), p(2, 0));
            assert_eq!(position(&rope, 10, e), p(3, 0));
        }
    }

    #[test]
    fn unicode_separators_do_not_break_lines() {
        let rope = Rope::from_str("a\u{2028}b\u{0085}c\u{000B}d\u{000C}e\nz");
        assert_eq!(rope.len_lines(), 2);
        for e in ALL {
            assert_eq!(char_index(&rope, p(1, 0), e), Ok(10));
            assert_eq!(position(&rope, 2, e).line, 0);
        }
        // U+2028 is 3 UTF-8 bytes, 1 UTF-16 unit; U+0085 is 2 bytes.
        assert_eq!(char_index(&rope, p(0, 4), PositionEncoding::Utf8), Ok(2));
        assert_eq!(char_index(&rope, p(0, 7), PositionEncoding::Utf8), Ok(4));
        assert_eq!(char_index(&rope, p(0, 2), PositionEncoding::Utf16), Ok(2));
    }

    #[test]
    fn out_of_range_lines_and_characters_clamp() {
        let rope = Rope::from_str("one\ntwo\n");
        for e in ALL {
            assert_eq!(char_index(&rope, p(0, 100), e), Ok(3));
            assert_eq!(char_index(&rope, p(2, 0), e), Ok(8));
            assert_eq!(char_index(&rope, p(2, 5), e), Ok(8));
            assert_eq!(char_index(&rope, p(3, 0), e), Ok(8));
            assert_eq!(char_index(&rope, p(u32::MAX, u32::MAX), e), Ok(8));
            assert_eq!(char_index(&rope, p(1, u32::MAX), e), Ok(7));
            assert_eq!(position(&rope, 1000, e), p(2, 0));
        }
        let empty = Rope::new();
        for e in ALL {
            assert_eq!(char_index(&empty, p(0, 0), e), Ok(0));
            assert_eq!(char_index(&empty, p(5, 5), e), Ok(0));
            assert_eq!(position(&empty, 0, e), p(0, 0));
            assert_eq!(position(&empty, 7, e), p(0, 0));
        }
    }

    #[test]
    fn char_range_checks_order_after_resolution() {
        let rope = Rope::from_str("hello\nworld");
        let e = PositionEncoding::Utf16;
        assert_eq!(char_range(&rope, Range::new(p(0, 1), p(1, 2)), e), Ok(1..8));
        assert_eq!(
            char_range(&rope, Range::new(p(1, 0), p(0, 1)), e),
            Err(PositionError::RangeReversed)
        );
        // Both clamp to the same place: not reversed.
        assert_eq!(char_range(&rope, Range::new(p(0, 9), p(0, 7)), e), Ok(5..5));
        let astral = Rope::from_str("😀");
        assert!(matches!(
            char_range(&astral, Range::new(p(0, 0), p(0, 1)), e),
            Err(PositionError::InsideCharacter { .. })
        ));
    }

    #[test]
    fn position_roundtrips_on_every_boundary() {
        let text = "aé😀\r\n→𝄞\rx\u{2028}y\n\nz😀";
        let rope = Rope::from_str(text);
        for e in ALL {
            for idx in 0..=rope.len_chars() {
                // Skip the point between '\r' and '\n'.
                if idx > 0 && rope.char(idx - 1) == '\r' && rope.get_char(idx) == Some('\n') {
                    continue;
                }
                let pos = position(&rope, idx, e);
                assert_eq!(char_index(&rope, pos, e), Ok(idx), "{e:?} {idx} {pos:?}");
            }
        }
    }

    #[test]
    fn error_messages_are_readable() {
        let msg = PositionError::InsideCharacter {
            line: 3,
            character: 7,
        }
        .to_string();
        assert!(msg.contains("line 3, character 7"), "{msg}");
        assert_eq!(
            PositionError::RangeReversed.to_string(),
            "the range starts after it ends"
        );
    }
}
