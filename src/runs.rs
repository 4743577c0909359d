//! The registry of runs in flight, so a cancel finds its run by id, by
//! progress token or by document, and shutdown cancels them all.

use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use tokio_util::sync::CancellationToken;

/// A run in flight.
#[derive(Debug, Clone)]
pub struct RunEntry {
    pub id: u64,
    /// The progress token, in a protocol-neutral string form.
    pub token_key: String,
    pub document: String,
    pub title: String,
    pub cancel: CancellationToken,
}

/// The turn a run has on the app-server, once started: what `codex.steer`
/// adds input to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTurn {
    pub thread_id: String,
    pub turn_id: String,
}

#[derive(Debug, Default)]
pub struct RunRegistry {
    runs: DashMap<u64, RunEntry>,
    turns: DashMap<u64, RunTurn>,
    next_id: AtomicU64,
}

impl RunRegistry {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn insert(&self, entry: RunEntry) {
        self.runs.insert(entry.id, entry);
    }

    pub fn remove(&self, id: u64) {
        self.runs.remove(&id);
        self.turns.remove(&id);
    }

    /// The run's turn started (kept only while the run is registered).
    pub fn set_turn(&self, id: u64, turn: RunTurn) {
        if self.runs.contains_key(&id) {
            self.turns.insert(id, turn);
        }
    }

    /// The run's turn, if the run is registered and its turn started.
    pub fn turn(&self, id: u64) -> Option<RunTurn> {
        self.turns.get(&id).map(|turn| turn.clone())
    }

    /// Whether run `id` is registered.
    pub fn contains(&self, id: u64) -> bool {
        self.runs.contains_key(&id)
    }

    /// Whether a run already streams on this token.
    pub fn has_token(&self, token_key: &str) -> bool {
        self.runs.iter().any(|run| run.token_key == token_key)
    }

    /// Cancels the runs that match; returns their ids.
    pub fn cancel_where(&self, matches: impl Fn(&RunEntry) -> bool) -> Vec<u64> {
        let matching: Vec<RunEntry> = self
            .runs
            .iter()
            .filter(|run| matches(run))
            .map(|run| run.value().clone())
            .collect();
        for run in &matching {
            run.cancel.cancel();
        }
        matching.iter().map(|run| run.id).collect()
    }

    pub fn cancel_all(&self) -> Vec<u64> {
        self.cancel_where(|_| true)
    }

    pub fn list(&self) -> Vec<RunEntry> {
        let mut runs: Vec<RunEntry> = self.runs.iter().map(|run| run.value().clone()).collect();
        runs.sort_by_key(|run| run.id);
        runs
    }

    pub fn len(&self) -> usize {
        self.runs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(registry: &RunRegistry, token: &str, document: &str) -> RunEntry {
        let entry = RunEntry {
            id: registry.next_id(),
            token_key: token.into(),
            document: document.into(),
            title: "t".into(),
            cancel: CancellationToken::new(),
        };
        registry.insert(entry.clone());
        entry
    }

    #[test]
    fn cancel_finds_runs_by_token_and_document() {
        let registry = RunRegistry::default();
        let a = entry(&registry, "s:a", "file:///x");
        let b = entry(&registry, "s:b", "file:///x");
        let c = entry(&registry, "s:c", "file:///y");
        assert!(registry.has_token("s:b"));
        assert_eq!(
            registry.cancel_where(|run| run.token_key == "s:a"),
            vec![a.id]
        );
        assert!(a.cancel.is_cancelled() && !b.cancel.is_cancelled());
        let mut ids = registry.cancel_where(|run| run.document == "file:///x");
        ids.sort();
        assert_eq!(ids, vec![a.id, b.id]);
        registry.remove(a.id);
        assert_eq!(registry.len(), 2);
        registry.cancel_all();
        assert!(c.cancel.is_cancelled());
    }
}
