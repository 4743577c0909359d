//! The line hunks of an edit proposal: where the text a proposal would put
//! in differs from the selected text, line by line, so the user can review
//! each change and apply only some of them.
//!
//! A hunk is a maximal run of changed lines (a line diff by `similar`,
//! without context lines: two changes with an equal line between them are
//! two hunks). Its old side is a range of characters of the selected text,
//! so applying the chosen hunks is replacing those ranges, back to front,
//! and needs no second diff.

use std::ops::Range;
use std::time::{Duration, Instant};

/// How long the line diff may take. Past this, `similar` gives a correct
/// but coarser diff (fewer, larger hunks), which is still safe to apply.
const DIFF_DEADLINE: Duration = Duration::from_millis(500);

/// One change of a proposal: lines of the selection and what replaces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// The hunk's number, from 0, in document order.
    pub index: usize,
    /// The characters of the selected text the hunk replaces (empty for a
    /// pure insertion), as char indices into it.
    pub old: Range<usize>,
    /// The selected text in `old`.
    pub old_text: String,
    /// What replaces it.
    pub new_text: String,
}

/// Why chosen hunks cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HunkError {
    #[error("no hunks were chosen; to drop the proposal, discard it")]
    NoneChosen,
    #[error("hunk {index} does not exist: the proposal has {count} hunks (0 to {last})", last = .count.saturating_sub(1))]
    Unknown { index: usize, count: usize },
}

/// The line hunks that turn `old` into `new`, in order.
pub fn hunks(old: &str, new: &str) -> Vec<Hunk> {
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .deadline(Instant::now() + DIFF_DEADLINE)
        .diff_lines(old, new);
    let old_lines = diff.old_slices();
    let new_lines = diff.new_slices();
    // Where each old line starts, in chars; one more entry for the end.
    let mut old_starts = Vec::with_capacity(old_lines.len() + 1);
    let mut at = 0;
    for line in old_lines {
        old_starts.push(at);
        at += line.chars().count();
    }
    old_starts.push(at);

    let mut found: Vec<Hunk> = Vec::new();
    // The hunk being gathered: its old and new line ranges.
    let mut open: Option<(Range<usize>, Range<usize>)> = None;
    let close = |lines: (Range<usize>, Range<usize>), found: &mut Vec<Hunk>| {
        let (old_range, new_range) = lines;
        found.push(Hunk {
            index: found.len(),
            old: old_starts[old_range.start]..old_starts[old_range.end],
            old_text: old_lines[old_range].concat(),
            new_text: new_lines[new_range].concat(),
        });
    };
    for op in diff.ops() {
        let (old_range, new_range) = (op.old_range(), op.new_range());
        if matches!(op, similar::DiffOp::Equal { .. }) {
            if let Some(lines) = open.take() {
                close(lines, &mut found);
            }
            continue;
        }
        open = Some(match open {
            // Consecutive changes (a deletion then an insertion) are one hunk.
            Some((old, new)) => (old.start..old_range.end, new.start..new_range.end),
            None => (old_range, new_range),
        });
    }
    if let Some(lines) = open {
        close(lines, &mut found);
    }
    found
}

/// `old` with the chosen hunks applied and the others left out. Indices
/// may come in any order and more than once.
pub fn apply_chosen(old: &str, hunks: &[Hunk], chosen: &[usize]) -> Result<String, HunkError> {
    if chosen.is_empty() {
        return Err(HunkError::NoneChosen);
    }
    let mut picked: Vec<&Hunk> = Vec::with_capacity(chosen.len());
    for &index in chosen {
        let hunk = hunks.get(index).ok_or(HunkError::Unknown {
            index,
            count: hunks.len(),
        })?;
        picked.push(hunk);
    }
    picked.sort_by_key(|hunk| hunk.index);
    picked.dedup_by_key(|hunk| hunk.index);
    let mut text = String::with_capacity(old.len());
    let mut chars = old.chars();
    let mut at = 0;
    for hunk in picked {
        // Hunks are disjoint and in order, so `at` never passes a start.
        text.extend(chars.by_ref().take(hunk.old.start - at));
        text.push_str(&hunk.new_text);
        chars
            .by_ref()
            .take(hunk.old.end - hunk.old.start)
            .for_each(drop);
        at = hunk.old.end;
    }
    text.extend(chars);
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "fn one() {\n    let a = 1;\n    let b = 2;\n    a + b\n}\n";
    const NEW: &str = "fn one() -> i32 {\n    let a = 1;\n    let b = 2;\n    a * b\n}\n";

    #[test]
    fn changed_lines_separated_by_equal_lines_are_separate_hunks() {
        let found = hunks(OLD, NEW);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!(found[0].index, 0);
        assert_eq!(found[0].old, 0..11);
        assert_eq!(found[0].old_text, "fn one() {\n");
        assert_eq!(found[0].new_text, "fn one() -> i32 {\n");
        assert_eq!(found[1].index, 1);
        assert_eq!(found[1].old_text, "    a + b\n");
        assert_eq!(found[1].new_text, "    a * b\n");
        let start = OLD.find("    a + b").unwrap();
        assert_eq!(found[1].old, start..start + "    a + b\n".len());
    }

    #[test]
    fn adjacent_deletions_and_insertions_make_one_hunk() {
        let found = hunks("a\nb\nc\nd\n", "a\nx\ny\nz\nd\n");
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].old_text, "b\nc\n");
        assert_eq!(found[0].new_text, "x\ny\nz\n");
        assert_eq!(found[0].old, 2..6);
    }

    #[test]
    fn pure_insertions_and_deletions_are_hunks_too() {
        let inserted = hunks("a\nc\n", "a\nb\nc\n");
        assert_eq!(inserted.len(), 1);
        assert_eq!(inserted[0].old, 2..2);
        assert_eq!(inserted[0].old_text, "");
        assert_eq!(inserted[0].new_text, "b\n");
        let deleted = hunks("a\nb\nc\n", "a\nc\n");
        assert_eq!(deleted[0].old, 2..4);
        assert_eq!(deleted[0].new_text, "");
        // From nothing (an insertion at the end of a file): one hunk.
        let all_new = hunks("", "#[test]\nfn t() {}\n");
        assert_eq!(all_new.len(), 1);
        assert_eq!(all_new[0].old, 0..0);
        assert!(hunks("same\n", "same\n").is_empty());
    }

    #[test]
    fn hunk_ranges_count_characters_not_bytes() {
        let found = hunks("é😀\nx\n", "é😀\ny\n");
        assert_eq!(found[0].old, 3..5);
        assert_eq!(found[0].old_text, "x\n");
    }

    #[test]
    fn a_last_line_without_a_break_is_a_line() {
        let found = hunks("a\nb", "a\nB");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].old_text, "b");
        assert_eq!(found[0].new_text, "B");
    }

    #[test]
    fn applying_every_hunk_gives_the_new_text() {
        for (old, new) in [
            (OLD, NEW),
            ("a\nb\nc\nd\n", "a\nx\ny\nz\nd\n"),
            ("", "x\n"),
            ("x\ny\n", ""),
            ("é😀\nx\nq", "é😀\ny\nq\nr"),
            ("a\r\nb\r\n", "a\r\nB\r\n"),
        ] {
            let found = hunks(old, new);
            let all: Vec<usize> = (0..found.len()).collect();
            if all.is_empty() {
                continue;
            }
            assert_eq!(apply_chosen(old, &found, &all).unwrap(), new, "{old:?}");
        }
    }

    #[test]
    fn applying_some_hunks_keeps_the_old_lines_of_the_others() {
        let found = hunks(OLD, NEW);
        let first = apply_chosen(OLD, &found, &[0]).unwrap();
        assert_eq!(
            first,
            "fn one() -> i32 {\n    let a = 1;\n    let b = 2;\n    a + b\n}\n"
        );
        let second = apply_chosen(OLD, &found, &[1]).unwrap();
        assert_eq!(
            second,
            "fn one() {\n    let a = 1;\n    let b = 2;\n    a * b\n}\n"
        );
        // Order and repeats do not matter.
        assert_eq!(apply_chosen(OLD, &found, &[1, 0, 1]).unwrap(), NEW);
    }

    #[test]
    fn unknown_or_no_hunks_are_refused() {
        let found = hunks(OLD, NEW);
        assert_eq!(
            apply_chosen(OLD, &found, &[2]),
            Err(HunkError::Unknown { index: 2, count: 2 })
        );
        assert_eq!(
            apply_chosen(OLD, &found, &[0, 9]),
            Err(HunkError::Unknown { index: 9, count: 2 })
        );
        assert_eq!(apply_chosen(OLD, &found, &[]), Err(HunkError::NoneChosen));
        assert_eq!(
            HunkError::Unknown { index: 2, count: 2 }.to_string(),
            "hunk 2 does not exist: the proposal has 2 hunks (0 to 1)"
        );
    }
}
