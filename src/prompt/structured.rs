//! Structured answers: edit and review runs ask Codex for JSON that matches
//! a schema (`outputSchema` on `turn/start`) and read it back here. The
//! schemas are strict (every property required, no others), as the
//! Responses API's structured outputs need.

use serde::Deserialize;
use serde_json::{Value, json};
use thiserror::Error;

use crate::codex::serde_message::without_values;

/// A structured answer that is not what was asked for.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
#[error("Codex's answer is not the {expected} asked for: {detail}")]
pub struct InvalidAnswer {
    pub expected: &'static str,
    pub detail: String,
}

/// The schema of an edit run's answer.
pub fn edit_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "replacement": {
                "type": "string",
                "description": "The new text that replaces the selected text exactly, with the same indentation style."
            },
            "explanation": {
                "type": "string",
                "description": "One or two sentences on what changed and why."
            }
        },
        "required": ["replacement", "explanation"],
        "additionalProperties": false
    })
}

/// The schema of a review run's answer.
pub fn review_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "findings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "startLine": {"type": "integer", "description": "1-based first line of the finding"},
                        "endLine": {"type": "integer", "description": "1-based last line of the finding"},
                        "severity": {"type": "string", "enum": ["error", "warning", "information", "hint"]},
                        "message": {"type": "string"},
                        "suggestion": {
                            "type": ["string", "null"],
                            "description": "Replacement text for lines startLine..endLine (whole lines), or null"
                        }
                    },
                    "required": ["startLine", "endLine", "severity", "message", "suggestion"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["findings"],
        "additionalProperties": false
    })
}

/// The answer of an edit run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EditProposal {
    pub replacement: String,
    #[serde(default)]
    pub explanation: String,
}

/// How an edit's selection ends, which decides how its replacement ends:
/// a model often drops or adds the last line break, which would glue the
/// next line on or leave a blank line behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectionEnd {
    /// Right after a line break, as editors' line-wise selections end
    /// (`{3,0}-{6,0}`): the replacement ends with exactly this break.
    AfterLineBreak(&'static str),
    /// On the last character before a line break (Kakoune's line-wise
    /// selections, or a selection to the end of a line): the replacement
    /// ends without a break, since the document keeps its own.
    BeforeLineBreak,
    /// Anywhere else (mid-line, or the end of the document): the
    /// replacement is kept as it is.
    Elsewhere,
}

impl SelectionEnd {
    /// How a selection of `selected`, followed in the document by `next`,
    /// ends.
    pub fn of(selected: &str, next: Option<char>) -> SelectionEnd {
        if selected.ends_with("\r\n") {
            SelectionEnd::AfterLineBreak("\r\n")
        } else if selected.ends_with('\n') {
            SelectionEnd::AfterLineBreak("\n")
        } else if selected.ends_with('\r') {
            // A lone `\r` ends a line, unless the `\n` of its `\r\n`
            // follows, which is then the last character before the break.
            if next == Some('\n') {
                SelectionEnd::Elsewhere
            } else {
                SelectionEnd::AfterLineBreak("\r")
            }
        } else if matches!(next, Some('\n' | '\r')) {
            SelectionEnd::BeforeLineBreak
        } else {
            SelectionEnd::Elsewhere
        }
    }

    /// `replacement` with the trailing line breaks this selection needs.
    /// An empty replacement (the selection deleted) stays empty.
    pub fn fit(self, replacement: &str) -> String {
        let trimmed = replacement.trim_end_matches(['\r', '\n']);
        match self {
            SelectionEnd::AfterLineBreak(_) if replacement.is_empty() => String::new(),
            SelectionEnd::AfterLineBreak(line_break) => format!("{trimmed}{line_break}"),
            SelectionEnd::BeforeLineBreak => trimmed.to_string(),
            SelectionEnd::Elsewhere => replacement.to_string(),
        }
    }
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Information,
    Hint,
}

/// One finding of a review, lines 1-based and inclusive as Codex gives them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub start_line: u32,
    pub end_line: u32,
    pub severity: Severity,
    pub message: String,
    #[serde(default)]
    pub suggestion: Option<String>,
}

#[derive(Deserialize)]
struct ReviewAnswer {
    findings: Vec<Finding>,
}

pub fn parse_edit(answer: &str) -> Result<EditProposal, InvalidAnswer> {
    parse_json(answer, "replacement JSON `{ replacement, explanation }`")
}

pub fn parse_review(answer: &str) -> Result<Vec<Finding>, InvalidAnswer> {
    parse_json::<ReviewAnswer>(answer, "review JSON `{ findings: [...] }`")
        .map(|review| review.findings)
}

/// Reads JSON from the answer; a model that wraps it in a code fence
/// despite the schema is forgiven.
fn parse_json<T: serde::de::DeserializeOwned>(
    answer: &str,
    expected: &'static str,
) -> Result<T, InvalidAnswer> {
    let trimmed = strip_fence(answer.trim());
    serde_json::from_str(trimmed).map_err(|err| InvalidAnswer {
        expected,
        // The message would quote the answer, which may hold the user's
        // code: it reaches the log and a diagnostic.
        detail: without_values(&err),
    })
}

fn strip_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let body = rest.split_once('\n').map_or("", |(_, body)| body);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

/// A finding that survived validation, lines 0-based and inclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidFinding {
    pub first_line: u32,
    pub last_line: u32,
    pub severity: Severity,
    pub message: String,
    pub suggestion: Option<String>,
}

/// Keeps the findings that lie inside the reviewed lines (`scope`, 0-based
/// inclusive) of the document as it was reviewed (`reviewed`), and whose
/// lines still hold the same text now (`current`). Returns them and the
/// number dropped.
pub fn validate_findings(
    findings: Vec<Finding>,
    scope: (u32, u32),
    reviewed: &str,
    current: &str,
) -> (Vec<ValidFinding>, usize) {
    let before: Vec<&str> = reviewed.split('\n').collect();
    let now: Vec<&str> = current.split('\n').collect();
    let total = findings.len();
    let valid: Vec<ValidFinding> = findings
        .into_iter()
        .filter_map(|finding| {
            let first = finding.start_line.checked_sub(1)?;
            let last = finding.end_line.checked_sub(1)?;
            let inside = first <= last && first >= scope.0 && last <= scope.1;
            let (first_idx, last_idx) = (first as usize, last as usize);
            let unchanged = last_idx < before.len()
                && last_idx < now.len()
                && before[first_idx..=last_idx] == now[first_idx..=last_idx];
            let message = finding.message.trim().to_string();
            (inside && unchanged && !message.is_empty()).then_some(ValidFinding {
                first_line: first,
                last_line: last,
                severity: finding.severity,
                message,
                suggestion: finding.suggestion,
            })
        })
        .collect();
    let dropped = total - valid.len();
    (valid, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_parse_with_or_without_a_fence() {
        let plain = r#"{"replacement": "fn a() {}\n", "explanation": "shorter"}"#;
        assert_eq!(parse_edit(plain).unwrap().replacement, "fn a() {}\n");
        let fenced = format!("```json\n{plain}\n```");
        assert_eq!(parse_edit(&fenced).unwrap().explanation, "shorter");
        let err = parse_edit("Sure! Here is the code").unwrap_err();
        assert!(err.to_string().contains("replacement"), "{err}");
        assert!(parse_edit(r#"{"explanation": "no replacement"}"#).is_err());
    }

    #[test]
    fn a_replacement_ends_as_its_selection_does() {
        let lines = SelectionEnd::of("a\nb\n", Some('c'));
        assert_eq!(lines, SelectionEnd::AfterLineBreak("\n"));
        assert_eq!(lines.fit("A\nB"), "A\nB\n", "the next line stays apart");
        assert_eq!(lines.fit("A\nB\n\n"), "A\nB\n", "no blank line left");
        assert_eq!(lines.fit(""), "", "deleting the lines");
        let crlf = SelectionEnd::of("a\r\n", None);
        assert_eq!(crlf.fit("A\n"), "A\r\n");
        assert_eq!(SelectionEnd::of("a\r", Some('b')).fit("A"), "A\r");
        // Kakoune: up to the last character before the break.
        let kakoune = SelectionEnd::of("a\nb", Some('\n'));
        assert_eq!(kakoune, SelectionEnd::BeforeLineBreak);
        assert_eq!(kakoune.fit("A\nB\n"), "A\nB");
        assert_eq!(SelectionEnd::of("a\r", Some('\n')), SelectionEnd::Elsewhere);
        // Mid-line and at the end of the document: as given.
        assert_eq!(SelectionEnd::of("a", Some('b')).fit("A\n"), "A\n");
        assert_eq!(SelectionEnd::of("a", None).fit("A\n"), "A\n");
    }

    fn finding(start: u32, end: u32) -> Finding {
        Finding {
            start_line: start,
            end_line: end,
            severity: Severity::Warning,
            message: "m".into(),
            suggestion: None,
        }
    }

    #[test]
    fn findings_outside_the_scope_or_on_changed_lines_are_dropped() {
        let reviewed = "a\nb\nc\nd\n";
        let current = "a\nb\nC\nd\n";
        let findings = vec![
            finding(1, 2), // kept
            finding(2, 3), // line 3 changed
            finding(4, 9), // past the end
            finding(0, 1), // line 0 does not exist
            finding(3, 2), // reversed
            finding(4, 4), // outside the scope
        ];
        let (valid, dropped) = validate_findings(findings, (0, 2), reviewed, current);
        assert_eq!(valid.len(), 1);
        assert_eq!((valid[0].first_line, valid[0].last_line), (0, 1));
        assert_eq!(dropped, 5);
    }

    #[test]
    fn reviews_parse_and_the_schemas_are_strict() {
        let answer = r#"{"findings": [{"startLine": 2, "endLine": 3, "severity": "error", "message": "off by one", "suggestion": null}]}"#;
        let findings = parse_review(answer).unwrap();
        assert_eq!(findings[0].severity, Severity::Error);
        assert!(parse_review(r#"{"findings": [{"startLine": 1}]}"#).is_err());
        for schema in [edit_schema(), review_schema()] {
            assert_eq!(schema["additionalProperties"], false);
        }
    }
}
