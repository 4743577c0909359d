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
//! for as long as the follower is alive.

use std::ops::Range;
use std::sync::{Arc, Mutex, Weak};

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
