//! The custom protocol is written once, in `src/lsp/ext.rs`, and mirrored
//! in the README, the VS Code extension (`editors/vscode/src/lsp_ext.ts`)
//! and the Neovim plugin (`editors/nvim/lua/codex_ls/protocol.lua`). This
//! test reads the field and value names of the step, approval,
//! conversation and proposal payloads from the server's own serialization and fails when a mirror lacks one or
//! has one the server does not send.
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use codex_ls::lsp::ext;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

type Names = BTreeSet<String>;

fn repo_file(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn keys(value: impl Serialize) -> Names {
    match serde_json::to_value(value).unwrap() {
        Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

fn names<T: Serialize>(values: &[T]) -> Names {
    values
        .iter()
        .map(|value| {
            serde_json::to_value(value)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The server: every optional field set, every enum value listed. Each list
// of values goes through an exhaustive match, so a new variant does not
// compile until it is listed here too.

fn file_change() -> ext::FileChange {
    ext::FileChange {
        path: "/w/a.rs".into(),
        kind: ext::FileChangeKind::Update,
        diff: "@@".into(),
    }
}

fn full_item() -> ext::Item {
    ext::Item {
        id: "c".into(),
        kind: ext::ItemType::Command,
        status: ext::ItemStatus::Completed,
        title: "Ran".into(),
        text: Some(String::new()),
        command: Some(String::new()),
        cwd: Some(String::new()),
        exit_code: Some(0),
        output_delta: Some(String::new()),
        output_skipped: 1,
        output: Some(String::new()),
        changes: Some(vec![file_change()]),
        plan: Some(vec![ext::PlanStep {
            step: "s".into(),
            status: ext::PlanStepStatus::Pending,
        }]),
    }
}

/// The fields of a step in a report (`outputDelta`), and at the end
/// (`output`).
fn server_item_update() -> Names {
    let mut fields = keys(full_item());
    fields.remove("output");
    fields
}

fn server_item() -> Names {
    let mut fields = keys(full_item());
    fields.remove("outputDelta");
    fields.remove("outputSkipped");
    fields
}

fn server_approval_request() -> Names {
    keys(ext::ApprovalRequestParams {
        run_id: 1,
        kind: ext::ApprovalKind::FileChange,
        title: String::new(),
        command: Some(String::new()),
        cwd: Some(String::new()),
        reason: Some(String::new()),
        changes: Some(vec![file_change()]),
        permissions: Some(String::new()),
        decisions: vec![ext::ApprovalDecision::Accept],
    })
}

fn server_structs() -> BTreeMap<&'static str, Names> {
    BTreeMap::from([
        ("ItemUpdate", server_item_update()),
        ("Item", server_item()),
        (
            "Usage",
            keys(ext::Usage {
                input_tokens: 0,
                cached_input_tokens: 0,
                output_tokens: 0,
                reasoning_output_tokens: 0,
                total_tokens: 0,
            }),
        ),
        ("FileChange", keys(file_change())),
        (
            "PlanStep",
            keys(ext::PlanStep {
                step: String::new(),
                status: ext::PlanStepStatus::Pending,
            }),
        ),
        ("ApprovalRequest", server_approval_request()),
        (
            "ApprovalResponse",
            keys(ext::ApprovalResponse {
                decision: ext::ApprovalDecision::Decline,
            }),
        ),
    ])
}

fn server_enums() -> BTreeMap<&'static str, Names> {
    use ext::{ApprovalDecision as D, ApprovalKind as A, FileChangeKind as F};
    use ext::{ItemStatus as S, ItemType as T, PlanStepStatus as P};
    let types = [
        T::Reasoning,
        T::Plan,
        T::Command,
        T::FileChange,
        T::WebSearch,
        T::ToolCall,
        T::Retry,
        T::Notice,
    ];
    for kind in types {
        match kind {
            T::Reasoning
            | T::Plan
            | T::Command
            | T::FileChange
            | T::WebSearch
            | T::ToolCall
            | T::Retry
            | T::Notice => {}
        }
    }
    let statuses = [S::InProgress, S::Completed, S::Failed, S::Declined];
    for status in statuses {
        match status {
            S::InProgress | S::Completed | S::Failed | S::Declined => {}
        }
    }
    let kinds = [F::Add, F::Delete, F::Update];
    for kind in kinds {
        match kind {
            F::Add | F::Delete | F::Update => {}
        }
    }
    let plan = [P::Pending, P::InProgress, P::Completed];
    for status in plan {
        match status {
            P::Pending | P::InProgress | P::Completed => {}
        }
    }
    let approvals = [A::Command, A::FileChange, A::Permissions];
    for kind in approvals {
        match kind {
            A::Command | A::FileChange | A::Permissions => {}
        }
    }
    let decisions = [D::Accept, D::AcceptForSession, D::Decline];
    for decision in decisions {
        match decision {
            D::Accept | D::AcceptForSession | D::Decline => {}
        }
    }
    BTreeMap::from([
        ("ItemType", names(&types)),
        ("ItemStatus", names(&statuses)),
        ("FileChangeKind", names(&kinds)),
        ("PlanStepStatus", names(&plan)),
        ("ApprovalKind", names(&approvals)),
        ("ApprovalDecision", names(&decisions)),
    ])
}

/// The fields of `T` as the server writes them, from a value with every
/// optional field set (read through `T` itself, so a field the server does
/// not know fails here).
fn fields_of<T: Serialize + DeserializeOwned>(full: Value) -> Names {
    let value: T =
        serde_json::from_value(full.clone()).unwrap_or_else(|err| panic!("{full}: {err}"));
    keys(value)
}

/// The conversation and proposal payloads (issue 14), by the server's name,
/// with the names of their mirrors: (server, TypeScript, Lua or `None`).
fn conversation_structs() -> Vec<(&'static str, &'static str, Option<&'static str>, Names)> {
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 1, "character": 0}});
    let document = json!({"uri": "file:///w/a.rs", "version": 1});
    let item = serde_json::to_value(full_item()).unwrap();
    let hunk = json!({"index": 0, "range": range, "oldText": "a", "newText": "b"});
    vec![
        (
            "RunArgs",
            "RunArgs",
            None,
            fields_of::<ext::RunArgs>(json!({
            "textDocument": document, "range": range, "prompt": "p", "newThread": true,
            "model": "m", "effort": "e", "progressToken": "t", "scope": "workspace",
            "threadId": "th", "queue": true})),
        ),
        (
            "ConversationArgs",
            "ConversationArgs",
            Some("ConversationParams"),
            fields_of::<ext::ConversationArgs>(json!({
                "textDocument": document, "scope": "workspace", "threadId": "th"})),
        ),
        (
            "ConversationsArgs",
            "ConversationsArgs",
            Some("ConversationsParams"),
            fields_of::<ext::ConversationsArgs>(json!({"folder": "/w"})),
        ),
        (
            "OpenConversationArgs",
            "OpenConversationArgs",
            Some("OpenConversationParams"),
            fields_of::<ext::OpenConversationArgs>(json!({
                "threadId": "th", "textDocument": document, "scope": "workspace"})),
        ),
        (
            "SteerArgs",
            "SteerArgs",
            Some("SteerParams"),
            fields_of::<ext::SteerArgs>(json!({"runId": 1, "prompt": "p"})),
        ),
        (
            "ForkArgs",
            "ForkArgs",
            Some("ForkParams"),
            fields_of::<ext::ForkArgs>(json!({"threadId": "th", "turnId": "tu"})),
        ),
        (
            "UndoLastArgs",
            "UndoLastArgs",
            Some("UndoLastParams"),
            fields_of::<ext::UndoLastArgs>(json!({"threadId": "th"})),
        ),
        (
            "ConversationView",
            "Conversation",
            Some("Conversation"),
            fields_of::<ext::ConversationView>(
                json!({"threadId": "th", "title": "t", "turns": []}),
            ),
        ),
        (
            "ConversationTurn",
            "ConversationTurn",
            Some("ConversationTurn"),
            fields_of::<ext::ConversationTurn>(json!({
                "turnId": "tu", "prompt": "p", "title": "t", "status": "completed",
                "answer": "a", "items": [item], "startedAt": 1})),
        ),
        (
            "ConversationList",
            "ConversationList",
            Some("ConversationList"),
            fields_of::<ext::ConversationList>(json!({"conversations": []})),
        ),
        (
            "ConversationEntry",
            "ConversationSummary",
            Some("ConversationSummary"),
            fields_of::<ext::ConversationEntry>(json!({
                "threadId": "th", "title": "t", "updatedAt": 1, "turns": 2})),
        ),
        (
            "ConversationOpened",
            "ThreadRef",
            Some("ConversationOpened"),
            fields_of::<ext::ConversationOpened>(json!({"threadId": "th"})),
        ),
        (
            "Steered",
            "Steered",
            Some("Steered"),
            fields_of::<ext::Steered>(json!({"runId": 1, "turnId": "tu"})),
        ),
        (
            "Forked",
            "Forked",
            Some("Forked"),
            fields_of::<ext::Forked>(json!({"threadId": "th", "forkedFromId": "f"})),
        ),
        (
            "Undone",
            "Undone",
            Some("Undone"),
            fields_of::<ext::Undone>(json!({"threadId": "th", "turnId": "tu"})),
        ),
        (
            "BusyData",
            "BusyData",
            Some("BusyData"),
            fields_of::<ext::BusyData>(json!({"busy": true, "runIds": [1]})),
        ),
        (
            "ProposalHunk",
            "ProposalHunk",
            Some("ProposalHunk"),
            fields_of::<ext::ProposalHunk>(hunk.clone()),
        ),
        (
            "EditReport",
            "EditReport",
            Some("Edit"),
            fields_of::<ext::EditReport>(json!({
                "status": "proposed", "replacement": "r", "explanation": "e", "range": range,
                "version": 1, "hunks": [hunk], "reason": "why"})),
        ),
        (
            "ApplyProposalArgs",
            "ApplyProposalArgs",
            Some("ApplyProposalParams"),
            fields_of::<ext::ApplyProposalArgs>(json!({"runId": 1, "hunks": [0]})),
        ),
        (
            "ProposalApplied",
            "ProposalApplied",
            Some("ApplyProposalResult"),
            fields_of::<ext::ProposalApplied>(json!({
                "applied": true, "hunks": [0], "range": range, "reason": "why"})),
        ),
        (
            "DiscardProposalArgs",
            "DiscardProposalArgs",
            Some("DiscardProposalParams"),
            fields_of::<ext::DiscardProposalArgs>(json!({"runId": 1})),
        ),
        (
            "ProposalDiscarded",
            "ProposalDiscarded",
            Some("DiscardProposalResult"),
            fields_of::<ext::ProposalDiscarded>(json!({"discarded": true})),
        ),
    ]
}

// ---------------------------------------------------------------------------
// TypeScript: `export interface X [extends A, B] { field?: type; ... }` and
// `export const NAMES = ["a", "b"] as const;`.

fn ts_interfaces(source: &str) -> BTreeMap<String, Names> {
    let mut own: BTreeMap<String, (Names, Vec<String>)> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("export interface ") {
            let head = rest.trim_end_matches('{').trim();
            let (name, bases) = match head.split_once(" extends ") {
                Some((name, bases)) => (
                    name.trim(),
                    bases.split(',').map(|b| b.trim().to_string()).collect(),
                ),
                None => (head, Vec::new()),
            };
            own.insert(name.to_string(), (Names::new(), bases));
            current = Some(name.to_string());
        } else if trimmed.starts_with('}') {
            current = None;
        } else if let Some(name) = &current
            && !trimmed.starts_with("//")
            && let Some((field, _)) = trimmed.split_once(':')
        {
            let field = field.trim().trim_end_matches('?');
            if field.chars().all(|c| c.is_alphanumeric() || c == '_') && !field.is_empty() {
                own.get_mut(name).unwrap().0.insert(field.to_string());
            }
        }
    }
    fn flatten(name: &str, own: &BTreeMap<String, (Names, Vec<String>)>) -> Names {
        let (fields, bases) = &own[name];
        let mut all = fields.clone();
        for base in bases {
            all.extend(flatten(base, own));
        }
        all
    }
    own.keys()
        .map(|name| (name.clone(), flatten(name, &own)))
        .collect()
}

fn ts_const_list(source: &str, name: &str) -> Names {
    let start = format!("export const {name} = [");
    let line = source
        .lines()
        .find(|line| line.trim().starts_with(&start))
        .unwrap_or_else(|| panic!("lsp_ext.ts has no `{start}`"));
    let inside = line.split_once('[').unwrap().1.split_once(']').unwrap().0;
    inside
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

// ---------------------------------------------------------------------------
// Lua: `---@class codex_ls.X` followed by `---@field name[?] ...` lines, and
// `---@alias codex_ls.X 'a'|'b'`.

fn lua_classes(source: &str) -> BTreeMap<String, Names> {
    let mut classes: BTreeMap<String, Names> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in source.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("---@class codex_ls.") {
            let name = rest.split([':', ' ']).next().unwrap().to_string();
            classes.insert(name.clone(), Names::new());
            current = Some(name);
        } else if let Some(rest) = trimmed.strip_prefix("---@field ") {
            if let Some(name) = &current {
                let field = rest
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('?');
                classes.get_mut(name).unwrap().insert(field.to_string());
            }
        } else {
            current = None;
        }
    }
    classes
}

fn lua_aliases(source: &str) -> BTreeMap<String, Names> {
    source
        .lines()
        .filter_map(|line| line.trim().strip_prefix("---@alias codex_ls."))
        .map(|rest| {
            let (name, values) = rest.split_once(' ').unwrap();
            let values = values
                .split('|')
                .map(|value| value.trim().trim_matches('\'').to_string())
                .collect();
            (name.to_string(), values)
        })
        .collect()
}

/// What differs, in words, or `None`.
fn differs(what: &str, server: &Names, mirror: Option<&Names>) -> Option<String> {
    let Some(mirror) = mirror else {
        return Some(format!("{what}: missing (the server has {server:?})"));
    };
    let lacks: Vec<_> = server.difference(mirror).collect();
    let extra: Vec<_> = mirror.difference(server).collect();
    (!lacks.is_empty() || !extra.is_empty())
        .then(|| format!("{what}: lacks {lacks:?}, has {extra:?} that the server does not send"))
}

#[test]
fn vscode_mirrors_the_step_and_approval_payloads() {
    let source = repo_file("editors/vscode/src/lsp_ext.ts");
    let interfaces = ts_interfaces(&source);
    let mut drift = Vec::new();
    let renamed = BTreeMap::from([("ApprovalResponse", "ApprovalResult")]);
    for (name, fields) in server_structs() {
        let ts = renamed.get(name).copied().unwrap_or(name);
        drift.extend(differs(
            &format!("lsp_ext.ts interface {ts}"),
            &fields,
            interfaces.get(ts),
        ));
    }
    let consts = BTreeMap::from([
        ("ItemType", "ITEM_TYPES"),
        ("ItemStatus", "ITEM_STATUSES"),
        ("FileChangeKind", "FILE_CHANGE_KINDS"),
        ("PlanStepStatus", "PLAN_STEP_STATUSES"),
        ("ApprovalKind", "APPROVAL_KINDS"),
        ("ApprovalDecision", "APPROVAL_DECISIONS"),
    ]);
    for (name, values) in server_enums() {
        let list = ts_const_list(&source, consts[name]);
        drift.extend(differs(
            &format!("lsp_ext.ts {}", consts[name]),
            &values,
            Some(&list),
        ));
    }
    for (server, ts, _, fields) in conversation_structs() {
        drift.extend(differs(
            &format!("lsp_ext.ts interface {ts} (the server's {server})"),
            &fields,
            interfaces.get(ts),
        ));
    }
    assert!(
        source.contains("\"codex/requestApproval\""),
        "lsp_ext.ts names codex/requestApproval"
    );
    assert!(drift.is_empty(), "{}", drift.join("\n"));
}

#[test]
fn neovim_mirrors_the_step_and_approval_payloads() {
    let source = repo_file("editors/nvim/lua/codex_ls/protocol.lua");
    let classes = lua_classes(&source);
    let aliases = lua_aliases(&source);
    let mut drift = Vec::new();
    for (name, fields) in server_structs() {
        drift.extend(differs(
            &format!("protocol.lua class codex_ls.{name}"),
            &fields,
            classes.get(name),
        ));
    }
    let renamed = BTreeMap::from([("FileChangeKind", "ChangeKind")]);
    for (name, values) in server_enums() {
        let lua = renamed.get(name).copied().unwrap_or(name);
        drift.extend(differs(
            &format!("protocol.lua alias codex_ls.{lua}"),
            &values,
            aliases.get(lua),
        ));
    }
    for (server, _, lua, fields) in conversation_structs() {
        let Some(lua) = lua else { continue };
        drift.extend(differs(
            &format!("protocol.lua class codex_ls.{lua} (the server's {server})"),
            &fields,
            classes.get(lua),
        ));
    }
    assert!(
        source.contains("'codex/requestApproval'"),
        "protocol.lua names codex/requestApproval"
    );
    assert!(drift.is_empty(), "{}", drift.join("\n"));
}

/// The README's Steps and Approvals sections name every field and value.
#[test]
fn the_readme_documents_every_step_and_approval_field() {
    let readme = repo_file("README.md");
    let section = |title: &str| {
        let start = readme
            .find(title)
            .unwrap_or_else(|| panic!("README has no {title}"));
        let rest = &readme[start + title.len()..];
        rest[..rest.find("\n### ").unwrap_or(rest.len())].to_string()
    };
    let steps = section("### Steps");
    let streaming = section("### Streaming");
    let approvals = section("### Approvals");
    let items = format!("{streaming}{steps}");
    let mentioned = |text: &str, name: &str| {
        text.match_indices(name).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    };
    let mut missing = Vec::new();
    let structs = server_structs();
    for (name, text) in [
        ("ItemUpdate", &steps),
        ("Item", &items),
        ("FileChange", &steps),
        ("PlanStep", &steps),
        ("Usage", &streaming),
        ("ApprovalRequest", &approvals),
        ("ApprovalResponse", &approvals),
    ] {
        for field in &structs[name] {
            if !mentioned(text, field) {
                missing.push(format!("{name}.{field}"));
            }
        }
    }
    let enums = server_enums();
    for (name, text) in [
        ("ItemType", &steps),
        ("ItemStatus", &steps),
        ("FileChangeKind", &steps),
        ("PlanStepStatus", &steps),
        ("ApprovalKind", &approvals),
        ("ApprovalDecision", &approvals),
    ] {
        for value in &enums[name] {
            if !mentioned(text, &format!("\"{value}\"")) && !mentioned(text, &format!("`{value}`"))
            {
                missing.push(format!("{name} value {value}"));
            }
        }
    }
    assert!(missing.is_empty(), "README does not document: {missing:?}");
    assert!(approvals.contains("codex/requestApproval"));
}
