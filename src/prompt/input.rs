//! Builds the `turn/start` input: one text item holding the prompt and an
//! `@path` mention per file attachment, each marked by a `text_elements`
//! byte range with its placeholder; images and skills are items of their own.

use crate::codex::protocol::{ByteRange, TextElement, UserInput};

use super::params::PromptAttachment;

pub fn build_input(prompt: &str, attachments: &[PromptAttachment]) -> Vec<UserInput> {
    let mut text = prompt.to_string();
    let mut text_elements = Vec::new();
    let mut extra = Vec::new();
    for attachment in attachments {
        match attachment {
            PromptAttachment::AtPath { path, placeholder } => {
                text.push_str(if text_elements.is_empty() {
                    "\n\n"
                } else {
                    "\n"
                });
                let start = text.len();
                text.push('@');
                text.push_str(&path.to_string_lossy());
                text_elements.push(TextElement {
                    byte_range: ByteRange {
                        start,
                        end: text.len(),
                    },
                    placeholder: Some(placeholder.clone()),
                });
            }
            PromptAttachment::ImageUrl { url } => extra.push(UserInput::Image { url: url.clone() }),
            PromptAttachment::LocalImage { path } => extra.push(UserInput::LocalImage {
                path: path.to_string_lossy().into_owned(),
            }),
            PromptAttachment::Skill { name, path } => extra.push(UserInput::Skill {
                name: name.clone(),
                path: path.to_string_lossy().into_owned(),
            }),
        }
    }
    let mut input = vec![UserInput::Text {
        text,
        text_elements,
    }];
    input.extend(extra);
    input
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn mentions_are_marked_by_byte_ranges_with_placeholders() {
        let attachments = vec![
            PromptAttachment::AtPath {
                path: PathBuf::from("src/é.rs"),
                placeholder: "src/é.rs".into(),
            },
            PromptAttachment::AtPath {
                path: PathBuf::from("/tmp/s/sel.rs"),
                placeholder: "src/é.rs:2-3".into(),
            },
            PromptAttachment::ImageUrl {
                url: "https://x/y.png".into(),
            },
        ];
        let input = build_input("Explain → this", &attachments);
        assert_eq!(input.len(), 2);
        let UserInput::Text {
            text,
            text_elements,
        } = &input[0]
        else {
            panic!("not text")
        };
        assert_eq!(text_elements.len(), 2);
        let spans: Vec<&str> = text_elements
            .iter()
            .map(|element| &text[element.byte_range.start..element.byte_range.end])
            .collect();
        assert_eq!(spans, ["@src/é.rs", "@/tmp/s/sel.rs"]);
        assert_eq!(
            text_elements[1].placeholder.as_deref(),
            Some("src/é.rs:2-3")
        );
        assert!(text.starts_with("Explain → this\n\n@"));
        assert_eq!(
            input[1],
            UserInput::Image {
                url: "https://x/y.png".into()
            }
        );
    }

    #[test]
    fn no_attachments_means_plain_text() {
        let input = build_input("hi", &[]);
        assert_eq!(
            input,
            vec![UserInput::Text {
                text: "hi".into(),
                text_elements: vec![]
            }]
        );
    }
}
