//! User-defined actions from the configuration: a title, a prompt template
//! and a mode. Templates are checked when the configuration arrives, so a
//! typo is reported then, naming the action, not when the action runs.

use serde_json::Value;

/// What an action's run produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionMode {
    /// An answer in the progress stream.
    Answer,
    /// A replacement for the selection, applied through the editor.
    Edit,
    /// Findings published as diagnostics.
    Review,
}

impl ActionMode {
    fn parse(value: Option<&Value>) -> Result<ActionMode, String> {
        match value {
            None | Some(Value::Null) => Ok(ActionMode::Answer),
            Some(Value::String(mode)) => match mode.as_str() {
                "answer" => Ok(ActionMode::Answer),
                "edit" => Ok(ActionMode::Edit),
                "review" => Ok(ActionMode::Review),
                other => Err(format!(
                    "`mode` must be \"answer\", \"edit\" or \"review\", not \"{other}\""
                )),
            },
            Some(other) => Err(format!("`mode` must be a string, not {other}")),
        }
    }
}

/// A placeholder a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    Selection,
    File,
    Language,
    Diagnostics,
    Instruction,
}

impl Placeholder {
    const ALL: [(&'static str, Placeholder); 5] = [
        ("selection", Placeholder::Selection),
        ("file", Placeholder::File),
        ("language", Placeholder::Language),
        ("diagnostics", Placeholder::Diagnostics),
        ("instruction", Placeholder::Instruction),
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(Placeholder),
}

/// A parsed prompt template: literal text and `{placeholder}`s. `{{` and
/// `}}` stand for literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// The values a template is filled with.
#[derive(Debug, Clone, Default)]
pub struct TemplateValues<'a> {
    pub selection: &'a str,
    pub file: &'a str,
    pub language: &'a str,
    pub diagnostics: &'a str,
    pub instruction: &'a str,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|(_, next)| *next) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|(_, next)| *next) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let rest = &source[at + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "the prompt has a `{{` without a closing `}}` at byte {at}"
                        ));
                    };
                    let name = &rest[..end];
                    let placeholder = Placeholder::ALL
                        .iter()
                        .find(|(known, _)| *known == name)
                        .map(|(_, placeholder)| *placeholder)
                        .ok_or_else(|| {
                            format!(
                                "the prompt uses an unknown placeholder `{{{name}}}`; known: {{selection}}, {{file}}, {{language}}, {{diagnostics}}, {{instruction}} (write `{{{{` for a literal brace)"
                            )
                        })?;
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Slot(placeholder));
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(format!(
                        "the prompt has a `}}` without an opening `{{` at byte {at} (write `}}}}` for a literal brace)"
                    ));
                }
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        if pieces.is_empty() {
            return Err("the prompt is empty".to_string());
        }
        Ok(Template { pieces })
    }

    pub fn uses(&self, placeholder: Placeholder) -> bool {
        self.pieces.contains(&Piece::Slot(placeholder))
    }

    pub fn render(&self, values: &TemplateValues<'_>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Slot(Placeholder::Selection) => out.push_str(values.selection),
                Piece::Slot(Placeholder::File) => out.push_str(values.file),
                Piece::Slot(Placeholder::Language) => out.push_str(values.language),
                Piece::Slot(Placeholder::Diagnostics) => out.push_str(values.diagnostics),
                Piece::Slot(Placeholder::Instruction) => out.push_str(values.instruction),
            }
        }
        out
    }
}

/// One entry of `actions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserAction {
    pub title: String,
    pub prompt: Template,
    pub mode: ActionMode,
}

impl UserAction {
    pub fn from_value(value: &Value) -> Result<UserAction, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("must be an object {{ title, prompt, mode }}, not {value}"))?;
        if let Some(unknown) = object
            .keys()
            .find(|key| !["title", "prompt", "mode"].contains(&key.as_str()))
        {
            return Err(format!(
                "unknown field `{unknown}` (expected title, prompt, mode)"
            ));
        }
        let title = match object.get("title") {
            Some(Value::String(title)) if !title.trim().is_empty() => title.trim().to_string(),
            _ => return Err("`title` must be a non-empty string".to_string()),
        };
        let prompt = match object.get("prompt") {
            Some(Value::String(prompt)) => Template::parse(prompt)?,
            _ => return Err("`prompt` must be a string".to_string()),
        };
        Ok(UserAction {
            title,
            prompt,
            mode: ActionMode::parse(object.get("mode"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_render_their_placeholders_and_literal_braces() {
        let template = Template::parse("Port {selection} ({language}) {{as is}} {instruction}")
            .expect("valid template");
        let values = TemplateValues {
            selection: "fn a() {}",
            language: "rust",
            instruction: "to C",
            ..TemplateValues::default()
        };
        assert_eq!(
            template.render(&values),
            "Port fn a() {} (rust) {as is} to C"
        );
        assert!(template.uses(Placeholder::Selection));
        assert!(!template.uses(Placeholder::File));
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert!(Template::parse("x {nope}").unwrap_err().contains("{nope}"));
        assert!(
            Template::parse("x {selection")
                .unwrap_err()
                .contains("closing")
        );
        assert!(Template::parse("x }").unwrap_err().contains("opening"));
        assert!(Template::parse("").unwrap_err().contains("empty"));
        assert!(Template::parse("é {file} ✓").is_ok());
    }

    #[test]
    fn actions_check_every_field() {
        let action = UserAction::from_value(
            &json!({"title": " Review SQL ", "prompt": "Review {selection}", "mode": "review"}),
        )
        .expect("valid action");
        assert_eq!(action.title, "Review SQL");
        assert_eq!(action.mode, ActionMode::Review);
        let errors = [
            json!({"prompt": "x"}),
            json!({"title": "t", "prompt": 3}),
            json!({"title": "t", "prompt": "x", "mode": "write"}),
            json!({"title": "t", "prompt": "x", "extra": 1}),
            json!("t"),
        ];
        for bad in errors {
            assert!(UserAction::from_value(&bad).is_err(), "{bad}");
        }
    }
}
