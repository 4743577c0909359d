//! `workspace/executeCommand`: the run commands answer at once with the
//! run's id and token (the run goes on in its own task), `codex.cancel`
//! stops runs, `codex.status` reports the backend.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::ExecuteCommandParams;

use crate::lsp::{ext, from_proto};
use crate::prompt::presets;
use crate::session::Session;

use super::run::{self, RunRequest};

pub fn execute_command(
    session: &Arc<Session>,
    params: ExecuteCommandParams,
) -> Result<Option<Value>> {
    let answer = match params.command.as_str() {
        ext::RUN => {
            let args: ext::RunArgs = argument(&params.arguments)?;
            let started = run::start(
                session,
                RunRequest {
                    title: "Codex: Run".to_string(),
                    document: args.text_document,
                    range: args.range,
                    prompt: args.prompt,
                    new_thread: args.new_thread,
                    model: args.model,
                    effort: args.effort,
                    progress_token: args.progress_token,
                },
            )?;
            to_value(started)?
        }
        ext::EXPLAIN => {
            let args: ext::ExplainArgs = argument(&params.arguments)?;
            let prompt = if args.range.is_some_and(|range| range.start != range.end) {
                presets::EXPLAIN
            } else {
                presets::EXPLAIN_FILE
            };
            let started = run::start(
                session,
                RunRequest {
                    title: "Codex: Explain".to_string(),
                    document: args.text_document,
                    range: args.range,
                    prompt: prompt.to_string(),
                    new_thread: args.new_thread,
                    model: None,
                    effort: None,
                    progress_token: args.progress_token,
                },
            )?;
            to_value(started)?
        }
        ext::CANCEL => cancel(session, argument(&params.arguments)?)?,
        ext::STATUS => status(session),
        other => {
            return Err(Error::invalid_params(format!(
                "unknown command `{other}`; codex-ls knows {}",
                ext::COMMANDS.join(", ")
            )));
        }
    };
    Ok(Some(answer))
}

fn to_value(value: impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|err| Error {
        message: err.to_string().into(),
        ..Error::internal_error()
    })
}

/// The command's single argument object.
fn argument<T: DeserializeOwned>(arguments: &[Value]) -> Result<T> {
    let [value] = arguments else {
        return Err(Error::invalid_params(format!(
            "expected one argument object, got {}",
            arguments.len()
        )));
    };
    serde_json::from_value(value.clone())
        .map_err(|err| Error::invalid_params(format!("invalid argument: {err}")))
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
    };
    serde_json::to_value(status).unwrap_or(Value::Null)
}
