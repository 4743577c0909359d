//! Preset prompts for the built-in actions.

/// The prompt of `codex.explain`.
pub const EXPLAIN: &str = "Explain what the selected code does, how it works, and anything surprising about it. \
Be concise and refer to line numbers.";

/// The prompt when `codex.explain` has no selection.
pub const EXPLAIN_FILE: &str = "Explain what this file does and how it is organised. Be concise.";
