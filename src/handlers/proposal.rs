//! Edit proposals: a preview run's edit (`preview: true`, or the
//! `editPreview` setting), kept per run instead of applied, so that every
//! editor can show it as a diff before anything lands, whether or not it
//! supports change annotations.
//!
//! The run ends with `edit.status: "proposed"`, the selection's range and
//! version, and the line hunks of the selection against the text that
//! would replace it. The proposal keeps the run's followed selection, so
//! it moves with the user's typing as an edit waiting for
//! `workspace/applyEdit` does; `codex.applyProposal` then lands all of it,
//! or only the chosen hunks, as one edit through [`edit::land`] (re-anchored
//! the same way), and is refused, keeping the proposal, when the selected
//! text changed. `codex.discardProposal` drops it, and closing the document
//! expires it.

use std::sync::Arc;

use dashmap::DashMap;
use tower_lsp_server::jsonrpc::{Error, ErrorCode};
use tower_lsp_server::ls_types::Uri;

use crate::document::{self, DocumentSnapshot};
use crate::lsp::{ext, to_proto};
use crate::prompt::hunks::{self, Hunk, HunkError};
use crate::prompt::structured::EditProposal;
use crate::session::Session;

use super::edit::{self, EditTarget, Landing};

/// LSP's `RequestFailed`: the request was valid, but the state it acted on
/// does not allow it (the proposal expired, its text changed).
const REQUEST_FAILED: i64 = -32803;

/// A preview run's edit, waiting for the user.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub uri: Uri,
    /// The run's selection, followed through the user's changes.
    pub target: EditTarget,
    /// Codex's answer.
    pub answer: EditProposal,
    /// What replaces the selection, its last line break fitted to how the
    /// selection ends: the text the hunks were made from.
    pub new_text: String,
    pub hunks: Vec<Hunk>,
}

/// Why a proposal is no longer kept: said when it is asked for again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    Applied,
    Discarded,
    DocumentClosed,
}

/// Why `codex.applyProposal` could not apply a proposal.
#[derive(Debug, thiserror::Error)]
pub enum ProposalError {
    #[error("run {0} has no edit proposal (only runs with `preview` make one)")]
    Unknown(u64),
    #[error("the proposal of run {run_id} was already applied")]
    Applied { run_id: u64 },
    #[error("the proposal of run {run_id} was discarded")]
    Discarded { run_id: u64 },
    #[error("the proposal of run {run_id} expired: its document was closed")]
    Expired { run_id: u64 },
    #[error(
        "the selected text changed since run {run_id} proposed its edit, so nothing was applied; the proposal is kept (discard it, or run again on the new text)"
    )]
    SelectionChanged { run_id: u64 },
    #[error("{0}")]
    Hunks(#[from] HunkError),
}

impl ProposalError {
    /// As the JSON-RPC error the command answers: bad arguments are
    /// `InvalidParams`; a proposal that is gone or no longer fits its text
    /// is `RequestFailed`.
    pub fn to_rpc(&self) -> Error {
        match self {
            ProposalError::Unknown(_) | ProposalError::Hunks(_) => {
                Error::invalid_params(self.to_string())
            }
            ProposalError::Applied { .. }
            | ProposalError::Discarded { .. }
            | ProposalError::Expired { .. }
            | ProposalError::SelectionChanged { .. } => Error {
                code: ErrorCode::ServerError(REQUEST_FAILED),
                message: self.to_string().into(),
                data: None,
            },
        }
    }
}

/// The proposals waiting, by run id, and what became of those that are
/// gone (a few bytes each), so a late apply says why it failed.
#[derive(Debug, Default)]
pub struct Proposals {
    waiting: DashMap<u64, Arc<Proposal>>,
    gone: DashMap<u64, Gone>,
}

impl Proposals {
    fn insert(&self, run_id: u64, proposal: Proposal) {
        self.gone.remove(&run_id);
        self.waiting.insert(run_id, Arc::new(proposal));
    }

    /// Takes the proposal out to apply it: a second apply of the same
    /// proposal meanwhile finds none.
    fn take(&self, run_id: u64) -> Result<Arc<Proposal>, ProposalError> {
        if let Some((_, proposal)) = self.waiting.remove(&run_id) {
            return Ok(proposal);
        }
        Err(match self.gone.get(&run_id).map(|gone| *gone) {
            Some(Gone::Applied) => ProposalError::Applied { run_id },
            Some(Gone::Discarded) => ProposalError::Discarded { run_id },
            Some(Gone::DocumentClosed) => ProposalError::Expired { run_id },
            None => ProposalError::Unknown(run_id),
        })
    }

    /// Puts back a proposal that was not applied, unless its document
    /// closed while it was out.
    fn put_back(&self, session: &Session, run_id: u64, proposal: Arc<Proposal>) {
        if session.documents.contains(proposal.uri.as_str()) {
            self.waiting.insert(run_id, proposal);
        } else {
            self.gone.insert(run_id, Gone::DocumentClosed);
        }
    }

    /// Drops run `run_id`'s proposal; whether there was one.
    pub fn discard(&self, run_id: u64) -> bool {
        let discarded = self.waiting.remove(&run_id).is_some();
        if discarded {
            self.gone.insert(run_id, Gone::Discarded);
        }
        discarded
    }

    /// Expires the proposals on a document that closed: the text they
    /// were made for is gone from the server.
    pub fn document_closed(&self, uri: &str) {
        let closed: Vec<u64> = self
            .waiting
            .iter()
            .filter(|entry| entry.value().uri.as_str() == uri)
            .map(|entry| *entry.key())
            .collect();
        for run_id in closed {
            self.waiting.remove(&run_id);
            self.gone.insert(run_id, Gone::DocumentClosed);
        }
    }

    /// How many proposals are waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

/// Keeps run `run_id`'s answer as a proposal on the selection where it is
/// now, and returns the `edit` its `end` reports; when the selection is
/// gone (changed, or the document closed), nothing is kept.
pub fn propose(
    session: &Session,
    run_id: u64,
    uri: &Uri,
    target: &EditTarget,
    answer: &EditProposal,
) -> Result<ext::EditReport, Landing> {
    let now = session
        .documents
        .snapshot(uri.as_str())
        .ok_or(Landing::Closed)?;
    let chars = edit::locate(&now, target).ok_or(Landing::SelectionChanged)?;
    let new_text = edit::new_text(&now, target, chars.clone(), answer);
    let old = if target.insert { "" } else { &target.selected };
    let found = hunks::hunks(old, &new_text);
    let range = |from: usize, to: usize| document_range(session, &now, from, to);
    let report = ext::EditReport {
        status: ext::EditStatus::Proposed,
        replacement: answer.replacement.clone(),
        explanation: answer.explanation.clone(),
        range: Some(to_proto::range(range(chars.start, chars.end))),
        version: Some(now.version),
        hunks: Some(
            found
                .iter()
                .map(|hunk| {
                    let at = range(chars.start + hunk.old.start, chars.start + hunk.old.end);
                    to_proto::proposal_hunk(hunk, at)
                })
                .collect(),
        ),
        reason: None,
    };
    // A document closed since the snapshot would leave the proposal
    // behind with nothing to expire it.
    if session.documents.contains(uri.as_str()) {
        session.proposals.insert(
            run_id,
            Proposal {
                uri: uri.clone(),
                target: target.clone(),
                answer: answer.clone(),
                new_text,
                hunks: found,
            },
        );
    }
    Ok(report)
}

/// `codex.applyProposal`: lands run `run_id`'s proposal (all of it, or the
/// chosen hunks) as one edit. The answer says whether the editor applied
/// it; when it did not, the proposal is kept for another try.
///
/// This waits on the client's `workspace/applyEdit` answer inside the
/// command's handler, which is safe here: the transport hands the client's
/// responses on past the handlers' concurrency bound (see
/// `lsp::transport`), and the wait is bounded by the apply timeout.
pub async fn apply(
    session: &Session,
    args: ext::ApplyProposalArgs,
) -> Result<ext::ProposalApplied, ProposalError> {
    let run_id = args.run_id;
    let proposal = session.proposals.take(run_id)?;
    let (text, chosen) = match chosen_text(&proposal, args.hunks) {
        Ok(chosen) => chosen,
        Err(err) => {
            session.proposals.put_back(session, run_id, proposal);
            return Err(err.into());
        }
    };
    if !session.support().apply_edit {
        session.proposals.put_back(session, run_id, proposal);
        return Ok(ext::ProposalApplied {
            applied: false,
            hunks: chosen,
            range: None,
            reason: Some("the editor cannot apply edits (no workspace/applyEdit support)".into()),
        });
    }
    let target = &proposal.target;
    let landing = edit::land(session, &proposal.uri, target, |now, _| {
        // Text added at the end of the file is laid out for the end as it
        // is now; a replacement is what the user reviewed.
        if target.insert {
            edit::insertion(now, &proposal.answer.replacement)
        } else {
            text.clone()
        }
    })
    .await;
    match landing {
        Landing::Applied(range) => {
            session.proposals.gone.insert(run_id, Gone::Applied);
            Ok(ext::ProposalApplied {
                applied: true,
                hunks: chosen,
                range: Some(range),
                reason: None,
            })
        }
        Landing::Closed => {
            session.proposals.gone.insert(run_id, Gone::DocumentClosed);
            Err(ProposalError::Expired { run_id })
        }
        Landing::SelectionChanged => {
            session.proposals.put_back(session, run_id, proposal);
            Err(ProposalError::SelectionChanged { run_id })
        }
        Landing::Rejected(reason) => {
            session.proposals.put_back(session, run_id, proposal);
            Ok(ext::ProposalApplied {
                applied: false,
                hunks: chosen,
                range: None,
                reason: Some(reason),
            })
        }
    }
}

/// `codex.discardProposal`.
pub fn discard(session: &Session, args: ext::DiscardProposalArgs) -> ext::ProposalDiscarded {
    ext::ProposalDiscarded {
        discarded: session.proposals.discard(args.run_id),
    }
}

/// The text replacing the selection with the chosen hunks (all when
/// `chosen` is `None`), and the hunks it holds.
fn chosen_text(
    proposal: &Proposal,
    chosen: Option<Vec<usize>>,
) -> Result<(String, Vec<usize>), HunkError> {
    let Some(mut chosen) = chosen else {
        let all = (0..proposal.hunks.len()).collect();
        return Ok((proposal.new_text.clone(), all));
    };
    let old = if proposal.target.insert {
        ""
    } else {
        proposal.target.selected.as_str()
    };
    let text = hunks::apply_chosen(old, &proposal.hunks, &chosen)?;
    chosen.sort_unstable();
    chosen.dedup();
    Ok((text, chosen))
}

/// Chars `from..to` of `now` as a range in the negotiated encoding.
fn document_range(
    session: &Session,
    now: &DocumentSnapshot,
    from: usize,
    to: usize,
) -> document::Range {
    let encoding = session.encoding();
    document::Range::new(
        document::position(&now.text, from, encoding),
        document::position(&now.text, to, encoding),
    )
}
