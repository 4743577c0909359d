//! README snippets for the editor tests: a test loads a configuration
//! snippet verbatim from README.md, so a README change that breaks it fails
//! the test.
#![allow(dead_code)]

use std::path::Path;

/// The body of the first fenced block of `language` in the README section
/// whose heading line is `heading` (e.g. `### Emacs (eglot)`).
pub fn snippet(heading: &str, language: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let section = readme
        .split_once(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no section `{heading}`"))
        .1;
    let fence = format!("```{language}\n");
    let body = section
        .split_once(&fence)
        .unwrap_or_else(|| panic!("`{heading}` in README.md has no {language} block"))
        .1;
    body.split_once("\n```")
        .unwrap_or_else(|| panic!("the {language} block of `{heading}` is not closed"))
        .0
        .to_string()
}
