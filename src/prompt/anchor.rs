//! Finding an edit's text again after the client re-sent the whole
//! document. Incremental changes are followed exactly (see
//! `document::follow`); a full-text sync says nothing about where the
//! selection went, so the edit may land only where its text occurs once: with
//! two copies, the nearest one is a guess that may be the wrong function.

/// Where `selected` starts in `now` (a char index), if it occurs there
/// exactly once (overlapping occurrences count). `None` when it is gone,
/// occurs more than once, or is empty.
pub fn unique_occurrence(now: &str, selected: &str) -> Option<usize> {
    let first = now.find(selected)?;
    if selected.is_empty() {
        return None;
    }
    // The next occurrence may overlap the first one, so search again from
    // the first one's second character.
    let after_first = first + now[first..].chars().next().map_or(1, char::len_utf8);
    if now[after_first..].contains(selected) {
        return None;
    }
    Some(now[..first].chars().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_occurrence_is_found() {
        let now = "é new line\nfn a() {}\nfn b() {}\n";
        assert_eq!(unique_occurrence(now, "fn a() {}"), Some(11));
        assert_eq!(unique_occurrence(now, "fn c() {}"), None);
        assert_eq!(unique_occurrence(now, ""), None);
    }

    #[test]
    fn two_copies_are_ambiguous() {
        let now = "fn a() {\n    go();\n}\nfn b() {\n    go();\n}\n";
        assert_eq!(unique_occurrence(now, "    go();\n"), None);
        // Overlapping copies count too.
        assert_eq!(unique_occurrence("aaa", "aa"), None);
        assert_eq!(unique_occurrence("aab", "ab"), Some(1));
    }
}
