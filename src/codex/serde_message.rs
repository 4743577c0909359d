//! Messages of serde errors without the values they quote. serde writes the
//! offending value into its message (`invalid type: string "let api_key =
//! …", expected a boolean`), and the values codex-ls decodes are the user's
//! prompts, files and Codex's answers, which must stay out of the log at
//! `info` and out of diagnostics. What is kept says what went wrong: the
//! kind of value found, what was expected, the field, line and column.
//!
//! Lives in `codex/` because both the app-server client and the prompt
//! domain (which depends on it) decode Codex's JSON.

/// The error's message with every quoted value left out. The full message
/// goes to the log at `debug`, where content may appear, so a developer can
/// still see what was sent.
pub fn without_values(err: &serde_json::Error) -> String {
    tracing::debug!("serde error, values included: {err}");
    let full = err.to_string();
    let location =
        (err.line() != 0).then(|| format!(" at line {} column {}", err.line(), err.column()));
    let message = match &location {
        Some(location) => full.strip_suffix(location.as_str()).unwrap_or(&full),
        None => full.as_str(),
    };
    let kept = match err.classify() {
        // Syntax errors and a premature end are fixed texts of serde_json
        // that quote nothing; I/O errors describe the reader, not the data.
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => message.to_string(),
        serde_json::error::Category::Data => data_message(message),
    };
    format!("{kept}{}", location.unwrap_or_default())
}

/// A data error's message (a type's `Deserialize` wrote it) without values.
fn data_message(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // serde writes `<kind> <value>, expected <what>`; the value may
            // itself hold ", expected ", the text after the last one is
            // what the type expected (ours, never the input's).
            let (found, expected) = split_expected(rest);
            return format!("{prefix}{}{expected}", kind_of(found));
        }
    }
    for (prefix, what) in [
        ("unknown variant ", "unknown variant"),
        ("unknown field ", "unknown field"),
    ] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // The variant or field name comes from the input; after it,
            // serde lists what the type knows (`, expected one of ...` or
            // `, there are no ...`).
            let tail = ["expected ", "there are no "]
                .iter()
                .filter_map(|marker| rest.rfind(&format!(", {marker}")))
                .max()
                .map_or("", |at| &rest[at..]);
            return format!("{what}{tail}");
        }
    }
    // Messages that name only the type's own fields or counts.
    let own = ["missing field `", "duplicate field `", "invalid length "];
    if own.iter().any(|prefix| message.starts_with(prefix)) {
        return message.to_string();
    }
    // A custom message of some `Deserialize` impl: nothing says it quotes
    // no value, so none of it is kept.
    "a value does not have the expected form".to_string()
}

/// Splits `<found>, expected <what>` at the last `, expected `; without
/// one, all of it is `found`.
fn split_expected(rest: &str) -> (&str, &str) {
    match rest.rfind(", expected ") {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, ""),
    }
}

/// The kind of an unexpected value as serde names it (`string "…"` gives
/// `string`, ``integer `5` `` gives `integer`, `map` stays `map`).
fn kind_of(found: &str) -> &str {
    let end = found.find(['"', '`', '\'']).unwrap_or(found.len());
    let kind = found[..end].trim();
    if kind.is_empty() { "value" } else { kind }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Shape {
        will_retry: bool,
        count: u8,
        level: Level,
        items: [u8; 2],
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Level {
        Low,
        High,
    }

    const SECRET: &str = "let api_key = \\\"sk-1\\\", expected x";

    fn from_value(value: serde_json::Value) -> String {
        let err = serde_json::from_value::<Shape>(value).unwrap_err();
        let full = err.to_string();
        assert!(full.contains("api_key"), "the test quotes no value: {full}");
        without_values(&err)
    }

    fn valid() -> serde_json::Value {
        json!({"willRetry": true, "count": 1, "level": "low", "items": [1, 2]})
    }

    #[test]
    fn values_are_left_out_and_what_was_expected_stays() {
        let mut wrong_type = valid();
        wrong_type["willRetry"] = json!(SECRET);
        assert_eq!(
            from_value(wrong_type),
            "invalid type: string, expected a boolean"
        );
        let mut variant = valid();
        variant["level"] = json!(SECRET);
        assert_eq!(
            from_value(variant),
            "unknown variant, expected `low` or `high`"
        );
        let mut field = valid();
        field[SECRET] = json!(1);
        let message = from_value(field);
        assert!(
            message == "unknown field, expected one of `willRetry`, `count`, `level`, `items`",
            "{message}"
        );
    }

    #[test]
    fn numbers_and_positions_of_text_input_are_kept_without_values() {
        let text = format!(r#"{{"willRetry": "{SECRET}", "count": 1}}"#);
        let err = serde_json::from_str::<Shape>(&text).unwrap_err();
        let message = without_values(&err);
        assert!(!message.contains("api_key"), "{message}");
        assert!(
            message.starts_with("invalid type: string, expected a boolean at line 1 column"),
            "{message}"
        );
        let err = serde_json::from_value::<Shape>(
            json!({"willRetry": true, "count": 300, "level": "low", "items": [1, 2]}),
        )
        .unwrap_err();
        assert_eq!(without_values(&err), "invalid value: integer, expected u8");
        let err = serde_json::from_value::<Shape>(json!({"willRetry": true})).unwrap_err();
        assert_eq!(without_values(&err), "missing field `count`");
        let err = serde_json::from_str::<Shape>("{\"willRetry\": tru").unwrap_err();
        assert_eq!(
            without_values(&err),
            err.to_string(),
            "syntax errors quote nothing"
        );
    }

    #[test]
    fn custom_messages_are_not_trusted() {
        let err = serde_json::from_value::<Shape>(
            json!({"willRetry": true, "count": 1, "level": "low", "items": [1, 2, 3]}),
        );
        // A length mismatch names only counts.
        assert_eq!(
            without_values(&err.unwrap_err()),
            "invalid length 3, expected fewer elements in array"
        );
        let custom = <serde_json::Error as serde::de::Error>::custom(format!("bad {SECRET}"));
        assert_eq!(
            without_values(&custom),
            "a value does not have the expected form"
        );
    }
}
