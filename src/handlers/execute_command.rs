//! `workspace/executeCommand`: the run commands (run, explain, rewrite, fix,
//! tests, review, action) answer at once with the run's id and token (the
//! run goes on in its own task); `codex.cancel` stops runs,
//! `codex.clearReview` and `codex.newThread` forget findings and
//! conversations, `codex.status` reports the backend and conversations;
//! `codex.applyProposal` and `codex.discardProposal` act on preview runs'
//! edit proposals.

use serde_json::Value;
use std::sync::Arc;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::ExecuteCommandParams;

use tower_lsp_server::ls_types as lsp;

use crate::lsp::ext::{self, Command};
use crate::lsp::{from_proto, to_proto};
use crate::prompt::actions::{ActionMode, TemplateValues};
use crate::prompt::presets;
use crate::prompt::{Conversation, ConversationKey};
use crate::session::Session;

use super::conversations;
use super::diagnostics;
use super::proposal;
use super::run::{self, RunKind, RunRequest};

pub async fn execute_command(
    session: &Arc<Session>,
    params: ExecuteCommandParams,
) -> Result<Option<Value>> {
    let command = Command::parse(&params.command, &params.arguments)
        .map_err(|err| Error::invalid_params(err.to_string()))?;
    // The command as sent, so that a failed run can offer to retry it.
    let retry = || {
        params
            .arguments
            .first()
            .map(|argument| ext::RunCommand::for_retry(&params.command, argument))
    };
    let answer = match command {
        Command::Run(args) => start(session, run_request(args), retry())?,
        Command::Explain(args) => start(session, explain_request(args), retry())?,
        Command::Rewrite(args) => start(session, rewrite_request(args), retry())?,
        Command::Fix(args) => start(session, fix_request(args), retry())?,
        Command::Tests(args) => start(session, tests_request(args), retry())?,
        Command::Review(args) => start(session, review_request(args), retry())?,
        Command::Action(args) => start(session, action_request(session, args)?, retry())?,
        Command::ClearReview(args) => {
            let cleared = diagnostics::clear_review(session, &args.text_document.uri);
            to_value(ext::ReviewCleared { cleared })?
        }
        Command::NewThread(args) => new_thread(session, args)?,
        Command::Cancel(args) => cancel(session, args)?,
        Command::Status => status(session),
        Command::SignInHelp => diagnostics::show_help(session, diagnostics::FailureHelp::SignIn),
        Command::OpenSettings => {
            diagnostics::show_help(session, diagnostics::FailureHelp::Settings)
        }
        // Edit proposals.
        Command::ApplyProposal(args) => {
            let applied = proposal::apply(session, args)
                .await
                .map_err(|err| err.to_rpc())?;
            to_value(applied)?
        }
        Command::DiscardProposal(args) => to_value(proposal::discard(session, args))?,
        // Conversations (issue 14, requirement 1).
        Command::Conversation(args) => to_value(conversations::conversation(session, args).await?)?,
        Command::Conversations(args) => to_value(conversations::list(session, args).await?)?,
        Command::OpenConversation(args) => to_value(conversations::open(session, args)?)?,
        Command::Steer(args) => to_value(conversations::steer(session, args).await?)?,
        Command::Fork(args) => to_value(conversations::fork(session, args).await?)?,
        Command::UndoLast(args) => to_value(conversations::undo_last(session, args).await?)?,
    };
    Ok(Some(answer))
}

/// Starts the run, keeping the command as sent so that a failure can offer
/// to retry it.
fn start(
    session: &Arc<Session>,
    mut request: RunRequest,
    retry: Option<ext::RunCommand>,
) -> Result<Value> {
    request.retry = retry;
    to_value(run::start(session, request)?)
}

fn run_request(args: ext::RunArgs) -> RunRequest {
    RunRequest {
        new_thread: args.new_thread,
        model: args.model,
        effort: args.effort,
        progress_token: args.progress_token,
        scope: args.scope,
        thread_id: args.thread_id,
        queue: args.queue,
        ..RunRequest::answer("Codex: Run", args.text_document, args.range, args.prompt)
    }
}

fn explain_request(args: ext::ExplainArgs) -> RunRequest {
    let prompt = if args.range.is_some_and(|range| range.start != range.end) {
        presets::EXPLAIN
    } else {
        presets::EXPLAIN_FILE
    };
    RunRequest {
        new_thread: args.new_thread,
        progress_token: args.progress_token,
        scope: args.scope,
        queue: args.queue,
        ..RunRequest::answer(
            "Codex: Explain",
            args.text_document,
            args.range,
            prompt.to_string(),
        )
    }
}

fn rewrite_request(args: ext::RewriteArgs) -> RunRequest {
    let instruction = args
        .instruction
        .filter(|instruction| !instruction.trim().is_empty());
    let preset = match (args.preset, &instruction) {
        (Some(ext::RewritePreset::Improve), _) | (None, None) => presets::REWRITE_IMPROVE,
        (Some(ext::RewritePreset::Simplify), _) => presets::REWRITE_SIMPLIFY,
        (Some(ext::RewritePreset::Document), _) => presets::REWRITE_DOCUMENT,
        (None, Some(_)) => presets::REWRITE_CUSTOM,
    };
    let prompt = match &instruction {
        Some(instruction) => format!("{preset}\n\nInstruction: {}", instruction.trim()),
        None => preset.to_string(),
    };
    RunRequest {
        progress_token: args.progress_token,
        scope: args.scope,
        queue: args.queue,
        kind: RunKind::Edit { insert: false },
        preview: args.preview,
        ..RunRequest::answer(
            "Codex: Rewrite",
            args.text_document,
            Some(args.range),
            prompt,
        )
    }
}

fn fix_request(args: ext::FixArgs) -> RunRequest {
    let prompt = format!(
        "{}\n\nProblems reported on the selection:\n{}",
        presets::FIX,
        describe_diagnostics(&args.diagnostics)
    );
    RunRequest {
        progress_token: args.progress_token,
        scope: args.scope,
        queue: args.queue,
        kind: RunKind::Edit { insert: false },
        preview: args.preview,
        ..RunRequest::answer("Codex: Fix", args.text_document, Some(args.range), prompt)
    }
}

fn tests_request(args: ext::TestsArgs) -> RunRequest {
    let (prompt, kind) = match args.mode {
        ext::TestsMode::Answer => (presets::TESTS_ANSWER, RunKind::Answer),
        ext::TestsMode::Edit => (presets::TESTS_EDIT, RunKind::Edit { insert: true }),
    };
    RunRequest {
        progress_token: args.progress_token,
        scope: args.scope,
        queue: args.queue,
        kind,
        preview: args.preview,
        ..RunRequest::answer(
            "Codex: Write tests",
            args.text_document,
            Some(args.range),
            prompt.to_string(),
        )
    }
}

fn review_request(args: ext::ReviewArgs) -> RunRequest {
    let prompt = if args.range.is_some_and(|range| range.start != range.end) {
        presets::REVIEW
    } else {
        presets::REVIEW_FILE
    };
    RunRequest {
        progress_token: args.progress_token,
        scope: args.scope,
        queue: args.queue,
        kind: RunKind::Review,
        ..RunRequest::answer(
            "Codex: Review",
            args.text_document,
            args.range,
            prompt.to_string(),
        )
    }
}

/// A user-defined action: its template filled from the document, the
/// selection, the diagnostics passed and the instruction.
fn action_request(session: &Session, args: ext::ActionArgs) -> Result<RunRequest> {
    let config = session.config();
    let action = config.action(&args.title).ok_or_else(|| {
        let known: Vec<&str> = config.actions.iter().map(|a| a.title.as_str()).collect();
        Error::invalid_params(format!(
            "no action titled `{}` in the configuration (known: {})",
            args.title,
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })?;
    let uri = &args.text_document.uri;
    let snapshot = session.documents.snapshot(uri.as_str()).ok_or_else(|| {
        Error::invalid_params(format!(
            "{} is not open; open it first (didOpen)",
            uri.as_str()
        ))
    })?;
    let selection = match args.range {
        Some(range) if range.start != range.end => snapshot
            .text_in(from_proto::range(range), session.encoding())
            .map_err(|err| Error::invalid_params(format!("invalid range: {err}")))?,
        _ => String::new(),
    };
    let file = from_proto::file_path(uri)
        .map(|path| path.display().to_string())
        .unwrap_or_else(|| uri.as_str().to_string());
    let diagnostics = describe_diagnostics(&args.diagnostics);
    let prompt = action.prompt.render(&TemplateValues {
        selection: &selection,
        file: &file,
        language: &snapshot.language_id,
        diagnostics: &diagnostics,
        instruction: args.instruction.as_deref().unwrap_or(""),
    });
    let kind = match action.mode {
        ActionMode::Answer => RunKind::Answer,
        ActionMode::Edit => RunKind::Edit { insert: false },
        ActionMode::Review => RunKind::Review,
    };
    Ok(RunRequest {
        progress_token: args.progress_token,
        scope: args.scope,
        queue: args.queue,
        kind,
        preview: args.preview,
        ..RunRequest::answer(
            &format!("Codex: {}", action.title),
            args.text_document,
            args.range,
            prompt,
        )
    })
}

/// Diagnostics as prompt text: one line each with source, code and lines.
fn describe_diagnostics(diagnostics: &[lsp::Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return "(none were given: fix the problems you find)".to_string();
    }
    diagnostics
        .iter()
        .map(|diagnostic| {
            let code = match &diagnostic.code {
                Some(lsp::NumberOrString::String(code)) => format!(" {code}"),
                Some(lsp::NumberOrString::Number(code)) => format!(" {code}"),
                None => String::new(),
            };
            let source = diagnostic.source.as_deref().unwrap_or("diagnostic");
            format!(
                "- [{source}{code}] line {}: {}",
                diagnostic.range.start.line + 1,
                diagnostic.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn new_thread(session: &Session, args: ext::NewThreadArgs) -> Result<Value> {
    let key = match (&args.text_document, args.scope) {
        (Some(document), scope) => {
            Conversation::new(
                from_proto::scope(scope),
                document.uri.as_str(),
                from_proto::file_path(&document.uri).as_deref(),
                &session.workspace_folders(),
            )
            .key
        }
        (None, ext::Scope::Workspace) => {
            let folders = session.workspace_folders();
            let folder = folders
                .first()
                .ok_or_else(|| Error::invalid_params("no workspace folder: pass textDocument"))?;
            ConversationKey::Workspace(folder.clone())
        }
        (None, ext::Scope::Document) => {
            return Err(Error::invalid_params(
                "codex.newThread needs textDocument, or scope \"workspace\"",
            ));
        }
    };
    let thread_reset = session.conversations.forget(&key);
    to_value(ext::ThreadReset { thread_reset })
}

fn to_value(value: impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|err| Error {
        message: err.to_string().into(),
        ..Error::internal_error()
    })
}

fn cancel(session: &Session, args: ext::CancelArgs) -> Result<Value> {
    let cancelled = match (args.run_id, args.token, args.text_document) {
        (Some(id), None, None) => session.runs.cancel_where(|run| run.id == id),
        (None, Some(token), None) => {
            let key = from_proto::token_key(&token);
            session.runs.cancel_where(|run| run.token_key == key)
        }
        (None, None, Some(document)) => session
            .runs
            .cancel_where(|run| run.document == document.uri.as_str()),
        _ => {
            return Err(Error::invalid_params(
                "codex.cancel takes exactly one of runId, token or textDocument",
            ));
        }
    };
    serde_json::to_value(ext::Cancelled { cancelled })
        .map_err(|err| Error::invalid_params(err.to_string()))
}

fn status(session: &Session) -> Value {
    let backend = session.supervisor.status();
    let status = ext::Status {
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        backend: ext::BackendStatus {
            state: backend.state.as_str().to_string(),
            codex_version: backend.version,
            codex_path: session.config().codex_path,
            pid: backend.pid,
            last_error: backend.last_error,
        },
        active_runs: session
            .runs
            .list()
            .into_iter()
            .map(|run| ext::ActiveRun {
                run_id: run.id,
                title: run.title,
                uri: run.document,
            })
            .collect(),
        threads: session
            .conversations
            .list()
            .into_iter()
            .map(|(key, binding)| {
                let scope = to_proto::scope(key.scope());
                let (uri, folder) = match key {
                    ConversationKey::Document(uri) => (Some(uri), None),
                    ConversationKey::Workspace(folder) => {
                        (None, Some(folder.display().to_string()))
                    }
                };
                ext::ThreadStatus {
                    thread_id: binding.thread_id,
                    scope,
                    uri,
                    folder,
                    turns: binding.turns,
                }
            })
            .collect(),
    };
    serde_json::to_value(status).unwrap_or(Value::Null)
}
