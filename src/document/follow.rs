//! Following a range of a document through the client's edits.
//!
//! Work started on a range (an edit run's selection, a review finding)
//! outlives the text it was started on: the user goes on typing. Each
//! incremental change of a `didChange` is an [`AppliedChange`] in character
//! indices of the text it applied to, and [`Followed::through`] maps a
//! range through it: text replaced wholly before the range shifts it, text
//! after it leaves it alone, and a change that touches the range's inside
//! marks it [`Followed::Changed`]. A change without a range (a full-text
//! sync) says nothing about where the range went: [`Followed::Resynced`].
//!
//! A [`RangeFollower`] is such a range registered with the
//! [`super::DocumentStore`], which moves it with every change it applies
//! for as long as the follower is alive. [`follow_lines`] follows whole
//! lines through one notification's changes, for work tied to lines.

use std::ops::Range;
use std::sync::{Arc, Mutex, Weak};

use ropey::Rope;

/// One content change as the store applied it, in character indices of the
/// text before the change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppliedChange {
    /// Characters `start..end` were replaced by `inserted` characters.
    Edit {
        start: usize,
        end: usize,
        inserted: usize,
    },
    /// The whole text was replaced.
    Full,
}

/// Where a followed range is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Followed {
    /// The range, in character indices of the current text; its text is
    /// what it was, though the text around it may have changed.
    At(Range<usize>),
    /// A change replaced, inserted or deleted text inside the range.
    Changed,
    /// The client sent the whole text again, so the range could be
    /// anywhere (or gone).
    Resynced,
}

impl Followed {
    /// Where the range is after `change`.
    ///
    /// An insertion exactly at the range's start goes before it (the range
    /// moves), one exactly at its end goes after it (the range stays), so
    /// typing right next to a selection does not change it. A deletion or
    /// replacement that only touches an end is outside it too.
    pub fn through(self, change: &AppliedChange) -> Followed {
        let Followed::At(range) = self else {
            return self;
        };
        let &AppliedChange::Edit {
            start,
            end,
            inserted,
        } = change
        else {
            return Followed::Resynced;
        };
        if end <= range.start {
            // Wholly before: shift by what the change added or removed.
            let shift = |at: usize| at - (end - start) + inserted;
            Followed::At(shift(range.start)..shift(range.end))
        } else if start >= range.end {
            Followed::At(range)
        } else {
            Followed::Changed
        }
    }
}

/// A range the store keeps moving with the document's changes. Dropping it
/// stops the following; the store forgets it at its next change.
#[derive(Clone, Debug)]
pub struct RangeFollower(Arc<Mutex<Followed>>);

impl RangeFollower {
    pub(super) fn new(start: Followed) -> RangeFollower {
        RangeFollower(Arc::new(Mutex::new(start)))
    }

    /// The handle the store keeps: it does not keep the follower alive.
    pub(super) fn handle(&self) -> Weak<Mutex<Followed>> {
        Arc::downgrade(&self.0)
    }

    /// Where the range is now.
    pub fn now(&self) -> Followed {
        lock(&self.0).clone()
    }
}

/// Moves the follower behind `handle` through `changes`; false when the
/// follower is gone, so the store can forget it.
pub(super) fn advance(handle: &Weak<Mutex<Followed>>, changes: &[AppliedChange]) -> bool {
    let Some(followed) = handle.upgrade() else {
        return false;
    };
    let mut state = lock(&followed);
    for change in changes {
        *state = state.clone().through(change);
    }
    true
}

/// Where the whole lines `first..=last` (0-based) of `before` are in
/// `after`, the text that `changes` made of it; `None` when any of them
/// changed, or they are no longer whole lines (text typed at the start of
/// the first or the end of the last joins them), or `after` came from a
/// full-text sync.
///
/// The lines' content is followed, from the start of `first` to the end
/// of `last` before its line break: a line break typed at the start of
/// `first` moves them down, one typed at the end of `last` leaves them.
pub fn follow_lines(
    before: &Rope,
    after: &Rope,
    (first, last): (u32, u32),
    changes: &[AppliedChange],
) -> Option<(u32, u32)> {
    let (first, last) = (first as usize, last as usize);
    if first > last || last >= before.len_lines() {
        return None;
    }
    let start = before.line_to_char(first);
    let end = start_of_line_break(before, last);
    let mut followed = Followed::At(start..end);
    for change in changes {
        followed = followed.through(change);
    }
    let Followed::At(now) = followed else {
        return None;
    };
    let starts_a_line = after
        .try_char_to_line(now.start)
        .ok()
        .and_then(|line| after.try_line_to_char(line).ok())
        == Some(now.start);
    let ends_a_line =
        now.end == after.len_chars() || matches!(after.get_char(now.end), Some('\n' | '\r'));
    if !(starts_a_line && ends_a_line) {
        return None;
    }
    let line = |at: usize| {
        let line = after.try_char_to_line(at).ok()?;
        u32::try_from(line).ok()
    };
    Some((line(now.start)?, line(now.end)?))
}

/// The char index where line `line` of `text` ends, before its break.
fn start_of_line_break(text: &Rope, line: usize) -> usize {
    let slice = text.line(line);
    let mut len = slice.len_chars();
    while len > 0 && matches!(slice.char(len - 1), '\n' | '\r') {
        len -= 1;
    }
    text.line_to_char(line) + len
}

/// A poisoned lock still holds a valid state: every update is one
/// assignment.
fn lock(followed: &Mutex<Followed>) -> std::sync::MutexGuard<'_, Followed> {
    followed
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, end: usize, inserted: usize) -> AppliedChange {
        AppliedChange::Edit {
            start,
            end,
            inserted,
        }
    }

    fn through(range: Range<usize>, change: AppliedChange) -> Followed {
        Followed::At(range).through(&change)
    }

    #[test]
    fn text_before_the_range_shifts_it() {
        // A line of 5 characters typed above.
        assert_eq!(through(10..20, edit(0, 0, 5)), Followed::At(15..25));
        // Three characters deleted before it.
        assert_eq!(through(10..20, edit(2, 5, 0)), Followed::At(7..17));
        // Replaced right up to its start.
        assert_eq!(through(10..20, edit(4, 10, 1)), Followed::At(5..15));
        // Inserted exactly at its start: before it.
        assert_eq!(through(10..20, edit(10, 10, 2)), Followed::At(12..22));
    }

    #[test]
    fn text_after_the_range_leaves_it() {
        assert_eq!(through(10..20, edit(25, 30, 0)), Followed::At(10..20));
        // Inserted exactly at its end, or replaced from its end: after it.
        assert_eq!(through(10..20, edit(20, 20, 4)), Followed::At(10..20));
        assert_eq!(through(10..20, edit(20, 22, 9)), Followed::At(10..20));
    }

    #[test]
    fn a_change_inside_or_across_the_range_changes_it() {
        assert_eq!(through(10..20, edit(12, 12, 1)), Followed::Changed);
        assert_eq!(through(10..20, edit(15, 16, 0)), Followed::Changed);
        assert_eq!(through(10..20, edit(5, 11, 0)), Followed::Changed);
        assert_eq!(through(10..20, edit(19, 30, 3)), Followed::Changed);
        assert_eq!(through(10..20, edit(0, 40, 40)), Followed::Changed);
        // Once changed (or resynced), it stays so.
        assert_eq!(Followed::Changed.through(&edit(0, 0, 1)), Followed::Changed);
        assert_eq!(
            Followed::Resynced.through(&edit(0, 0, 1)),
            Followed::Resynced
        );
    }

    #[test]
    fn a_full_sync_loses_the_range() {
        assert_eq!(through(10..20, AppliedChange::Full), Followed::Resynced);
    }

    /// `before` changed by `changes` (each relative to the previous).
    fn changed(before: &str, changes: &[(usize, usize, &str)]) -> (Rope, Vec<AppliedChange>) {
        let mut text = Rope::from_str(before);
        let mut applied = Vec::new();
        for &(start, end, inserted) in changes {
            text.remove(start..end);
            text.insert(start, inserted);
            applied.push(edit(start, end, inserted.chars().count()));
        }
        (text, applied)
    }

    #[test]
    fn lines_move_with_lines_typed_above_and_die_when_they_change() {
        let before = "def f():\r\n    return 1\n\nend";
        let rope = Rope::from_str(before);
        let follow = |changes: &[(usize, usize, &str)], lines| {
            let (after, applied) = changed(before, changes);
            follow_lines(&rope, &after, lines, &applied)
        };
        // A line typed above, or a line break at the start of the line.
        assert_eq!(follow(&[(0, 0, "import x\n")], (1, 1)), Some((2, 2)));
        assert_eq!(follow(&[(10, 10, "\n")], (1, 1)), Some((2, 2)));
        // A line typed below, and text after the lines.
        assert_eq!(follow(&[(22, 22, "\n    pass")], (0, 1)), Some((0, 1)));
        assert_eq!(follow(&[(24, 27, "END")], (0, 1)), Some((0, 1)));
        // Text typed inside, at the start of the first, at the end of the last.
        assert_eq!(follow(&[(15, 15, "x")], (1, 1)), None);
        assert_eq!(follow(&[(10, 10, "x")], (1, 1)), None);
        assert_eq!(follow(&[(22, 22, "0")], (1, 1)), None);
        assert_eq!(follow(&[(27, 27, "!")], (3, 3)), None);
        // The line break between the lines removed.
        assert_eq!(follow(&[(8, 10, "")], (0, 1)), None);
        // A full sync, a line past the end.
        assert_eq!(
            follow_lines(&rope, &rope, (1, 1), &[AppliedChange::Full]),
            None
        );
        assert_eq!(follow(&[], (4, 4)), None);
    }

    #[test]
    fn a_follower_moves_until_dropped() {
        let follower = RangeFollower::new(Followed::At(3..6));
        let handle = follower.handle();
        assert!(advance(&handle, &[edit(0, 0, 2), edit(0, 1, 0)]));
        assert_eq!(follower.now(), Followed::At(4..7));
        drop(follower);
        assert!(!advance(&handle, &[edit(0, 0, 2)]));
    }
}
