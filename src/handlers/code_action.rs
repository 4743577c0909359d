//! Code actions: "Codex: Explain selection" on a non-empty selection, as a
//! `CodeAction` of kind `quickfix` so it shows in VS Code's lightbulb and
//! Quick Fix menu and in Neovim's `vim.lsp.buf.code_action()`.

use serde_json::json;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, Command,
};

use crate::lsp::ext;

pub const EXPLAIN_TITLE: &str = "Codex: Explain selection";

pub fn code_action(params: CodeActionParams) -> Option<Vec<CodeActionOrCommand>> {
    let range = params.range;
    if range.start == range.end {
        return None;
    }
    let kind = CodeActionKind::QUICKFIX;
    if let Some(only) = &params.context.only
        && !only.iter().any(|wanted| kind_matches(wanted, &kind))
    {
        return None;
    }
    let arguments = json!({"textDocument": {"uri": params.text_document.uri}, "range": range});
    Some(vec![CodeActionOrCommand::CodeAction(CodeAction {
        title: EXPLAIN_TITLE.to_string(),
        kind: Some(kind),
        command: Some(Command {
            title: EXPLAIN_TITLE.to_string(),
            command: ext::EXPLAIN.to_string(),
            arguments: Some(vec![arguments]),
        }),
        ..Default::default()
    })])
}

/// LSP kinds are hierarchical: `quickfix` contains `quickfix.codex`.
fn kind_matches(wanted: &CodeActionKind, kind: &CodeActionKind) -> bool {
    let (wanted, kind) = (wanted.as_str(), kind.as_str());
    wanted.is_empty() || kind == wanted || kind.starts_with(&format!("{wanted}."))
}
