//! Re-anchoring an edit: the user may type while Codex works. If the text
//! the edit replaces is still in the document, the edit moves with it (to
//! the occurrence nearest to where it was); otherwise it must not be
//! applied.

/// Where `selected` now starts in `now` (a char index), given that it
/// started at char `was_at` when the run began. `None` when it is gone.
pub fn reanchor(now: &str, selected: &str, was_at: usize) -> Option<usize> {
    if selected.is_empty() {
        return None;
    }
    let mut best: Option<(usize, usize)> = None;
    let mut chars_before = 0;
    let mut last_byte = 0;
    for (byte, _) in now.match_indices(selected) {
        chars_before += now[last_byte..byte].chars().count();
        last_byte = byte;
        let distance = chars_before.abs_diff(was_at);
        if best.is_none_or(|(_, best_distance)| distance < best_distance) {
            best = Some((chars_before, distance));
        }
    }
    best.map(|(at, _)| at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_text_to_the_nearest_occurrence() {
        let now = "é new line\nfn a() {}\nfn a() {}\n";
        // Was at char 0 before "é new line\n" (11 chars) was typed above it.
        assert_eq!(reanchor(now, "fn a() {}", 0), Some(11));
        assert_eq!(reanchor(now, "fn a() {}", 20), Some(21));
        assert_eq!(reanchor(now, "fn b() {}", 0), None);
        assert_eq!(reanchor(now, "", 0), None);
    }
}
