//! Preset prompts for the built-in actions.

/// The prompt of `codex.explain`.
pub const EXPLAIN: &str = "Explain what the selected code does, how it works, and anything surprising about it. \
Be concise and refer to line numbers.";

/// The prompt when `codex.explain` has no selection.
pub const EXPLAIN_FILE: &str = "Explain what this file does and how it is organised. Be concise.";

/// The prompt of `codex.rewrite` with `preset: "improve"`.
pub const REWRITE_IMPROVE: &str = "Improve the selected code: clearer names, simpler control flow, \
better error handling where it is missing. Keep its behaviour and its interface.";

/// The prompt of `codex.rewrite` with `preset: "simplify"`.
pub const REWRITE_SIMPLIFY: &str =
    "Simplify the selected code as much as possible without changing its behaviour.";

/// The prompt of `codex.rewrite` with `preset: "document"`.
pub const REWRITE_DOCUMENT: &str = "Add documentation comments to the selected code in the \
language's conventional style. Do not change the code itself.";

/// The prompt of `codex.rewrite` with only a free instruction.
pub const REWRITE_CUSTOM: &str = "Rewrite the selected code as instructed.";

/// The prompt of `codex.fix`; the diagnostics follow it.
pub const FIX: &str = "Fix the problems reported on the selected code with the smallest change \
that solves them.";

/// The prompt of `codex.tests` in answer mode.
pub const TESTS_ANSWER: &str = "Write unit tests for the selected code, following the \
conventions and test framework of this language and project. Answer with the tests and where \
they should go.";

/// The prompt of `codex.tests` in edit mode.
pub const TESTS_EDIT: &str = "Write unit tests for the selected code that can be inserted into \
this same file where the language's convention puts tests (for Rust, a `#[cfg(test)] mod tests` \
at the end of the file). The replacement is the text to insert, complete and self-contained.";

/// The prompt of `codex.review`.
pub const REVIEW: &str = "Review the selected code for bugs, unsafe behaviour and unclear code. \
Report only real problems, each with the 1-based line numbers it covers in the file and, when \
the fix is local, a suggestion that replaces those whole lines.";

/// The prompt of `codex.review` without a selection.
pub const REVIEW_FILE: &str = "Review this file for bugs, unsafe behaviour and unclear code. \
Report only real problems, each with the 1-based line numbers it covers and, when the fix is \
local, a suggestion that replaces those whole lines.";

/// What every edit run is told about its answer.
pub const EDIT_CONTRACT: &str = "Do not modify any file. Answer only with JSON \
`{\"replacement\": ..., \"explanation\": ...}` where `replacement` is the new text for exactly \
the selected lines (or the text to insert), with the file's indentation.";
