//! Conversations: which Codex thread a run continues, and the rules that
//! keep a conversation coherent. A conversation is a document's own, or one
//! shared by a workspace folder; its runs take turns one at a time (they
//! share the thread, so a second turn would interleave with the first);
//! `newThread` starts it anew; a document's conversation is forgotten when
//! the document closes, a workspace's outlives its documents; and after the
//! app-server restarted, the thread must be resumed. A run asks for its
//! turn at once and is refused while another turn runs (the user steers or
//! cancels instead), unless it asked to queue. A conversation can be bound
//! to an earlier thread of Codex's (reopened, or forked), which its next
//! run resumes. Knows nothing of LSP: documents are named by their URI as a
//! plain string.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashmap::DashMap;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::context::working_dir;
use super::run::ThreadBinding;

/// What the `begin` message adds when the conversation's thread belongs to
/// an app-server that is gone.
pub const RESUME_NOTE: &str =
    "Codex restarted: resuming the conversation, or starting a new one if it cannot be resumed";

/// Whose conversation a run continues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// The document's own conversation.
    #[default]
    Document,
    /// One conversation shared by all documents of a workspace folder.
    Workspace,
}

/// Names one conversation. Typed, not a string with a prefix: a document
/// whose URI happens to read `workspace:/some/folder` is still a document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConversationKey {
    /// A document's conversation, by the document's URI.
    Document(String),
    /// A workspace folder's conversation.
    Workspace(PathBuf),
}

impl ConversationKey {
    pub fn scope(&self) -> Scope {
        match self {
            ConversationKey::Document(_) => Scope::Document,
            ConversationKey::Workspace(_) => Scope::Workspace,
        }
    }
}

/// The conversation a run continues, and the folder it runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub key: ConversationKey,
    /// The run's working directory: the workspace folder that holds the
    /// document (see [`working_dir`]).
    pub folder: PathBuf,
}

impl Conversation {
    /// The conversation of the document `uri` (on disk at `file`, when it is
    /// a local file) in `scope`.
    pub fn new(
        scope: Scope,
        uri: &str,
        file: Option<&Path>,
        workspace_folders: &[PathBuf],
    ) -> Conversation {
        let folder = working_dir(file, workspace_folders);
        let key = match scope {
            Scope::Document => ConversationKey::Document(uri.to_string()),
            Scope::Workspace => ConversationKey::Workspace(folder.clone()),
        };
        Conversation { key, folder }
    }
}

/// Every conversation of the session: the thread each one continues, and
/// the turn each one may be running.
#[derive(Debug, Default)]
pub struct Conversations {
    threads: DashMap<ConversationKey, ThreadBinding>,
    /// Held by the conversation's running turn, waited on by the next ones.
    /// An entry lives only while a turn holds or waits on it (see
    /// [`Turn`]'s and [`Reservation`]'s drop), so the map does not grow
    /// with every document. Shared with reservations, which outlive any
    /// borrow of the registry (they move into the run's task).
    turns: Arc<DashMap<ConversationKey, Arc<Mutex<()>>>>,
}

/// A run was refused: its conversation has a turn running (or one
/// waiting).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the conversation is busy: a run is still going on it")]
pub struct ConversationBusy;

/// A conversation's place taken at once, before the run's task starts, so
/// that a second run is refused while the first one plans: it becomes the
/// run's [`Turn`] with [`Conversations::turn_for`].
#[derive(Debug)]
pub struct Reservation {
    turns: Arc<DashMap<ConversationKey, Arc<Mutex<()>>>>,
    key: ConversationKey,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.guard.take().is_some() {
            release_idle(&self.turns, &self.key);
        }
    }
}

/// Drops the conversation's lock when nobody holds or waits on it.
fn release_idle(turns: &DashMap<ConversationKey, Arc<Mutex<()>>>, key: &ConversationKey) {
    turns.remove_if(key, |_, lock| Arc::strong_count(lock) == 1);
}

impl Conversations {
    /// Takes the conversation's turn now, or says it is busy: a turn runs
    /// on it or waits for it.
    pub fn try_reserve(&self, key: &ConversationKey) -> Result<Reservation, ConversationBusy> {
        let lock = self.turns.entry(key.clone()).or_default().clone();
        let guard = match lock.try_lock_owned() {
            Ok(guard) => guard,
            Err(_) => {
                release_idle(&self.turns, key);
                return Err(ConversationBusy);
            }
        };
        Ok(Reservation {
            turns: self.turns.clone(),
            key: key.clone(),
            guard: Some(guard),
        })
    }

    /// Whether a turn runs on the conversation (or waits for it).
    pub fn is_busy(&self, key: &ConversationKey) -> bool {
        self.turns.contains_key(key)
    }

    /// The turn a reservation took: the thread to continue comes with it,
    /// as with [`Conversations::take_turn`].
    pub fn turn_for(&self, mut reservation: Reservation, new_thread: bool) -> Turn<'_> {
        let guard = reservation.guard.take();
        Turn {
            conversations: self,
            key: reservation.key.clone(),
            guard,
            previous: self.previous(&reservation.key, new_thread),
        }
    }

    fn previous(&self, key: &ConversationKey, new_thread: bool) -> Option<ThreadBinding> {
        if new_thread {
            None
        } else {
            self.threads.get(key).map(|binding| binding.clone())
        }
    }

    /// Binds the conversation to an earlier thread of Codex's (reopened or
    /// forked): its next run resumes it. The binding belongs to no live
    /// app-server yet (generation 0: generations count from 1), so it is
    /// resumed, which loads it from disk.
    pub fn open(&self, key: &ConversationKey, thread_id: &str) {
        self.threads.insert(key.clone(), earlier_thread(thread_id));
    }

    /// The thread the conversation continues, if any.
    pub fn thread_of(&self, key: &ConversationKey) -> Option<String> {
        self.threads
            .get(key)
            .map(|binding| binding.thread_id.clone())
    }

    /// Waits until no other turn runs in the conversation, and takes its
    /// turn: the thread to continue comes with it (none with `new_thread`,
    /// which starts the conversation anew). Dropping the wait gives up the
    /// place in line.
    pub async fn take_turn(&self, key: &ConversationKey, new_thread: bool) -> Turn<'_> {
        // Cloned under the map's entry guard, so the idle check in `Turn`'s
        // drop sees every waiter.
        let lock = self.turns.entry(key.clone()).or_default().clone();
        let guard = lock.lock_owned().await;
        let previous = self.previous(key, new_thread);
        Turn {
            conversations: self,
            key: key.clone(),
            guard: Some(guard),
            previous,
        }
    }

    /// Whether the conversation's next turn has to resume its thread
    /// because Codex restarted: it has one, the run continues it, and the
    /// thread was started by an app-server other than the live one (`None`:
    /// none is running). A thread the user reopened is resumed too, but
    /// that is no restart ([`RESUME_NOTE`] would be wrong), so it does not
    /// count here.
    pub fn needs_resume(
        &self,
        key: &ConversationKey,
        new_thread: bool,
        live_generation: Option<u64>,
    ) -> bool {
        !new_thread
            && self.threads.get(key).is_some_and(|binding| {
                binding.generation != EARLIER && live_generation != Some(binding.generation)
            })
    }

    /// Forgets the conversation's thread, so its next run starts a new one.
    /// True if there was one.
    pub fn forget(&self, key: &ConversationKey) -> bool {
        self.threads.remove(key).is_some()
    }

    /// The document `uri` closed: its own conversation is forgotten (it
    /// starts afresh when reopened); workspace conversations stay.
    pub fn document_closed(&self, uri: &str) {
        self.threads
            .remove(&ConversationKey::Document(uri.to_string()));
    }

    /// Every conversation with a thread, for `codex.status`.
    pub fn list(&self) -> Vec<(ConversationKey, ThreadBinding)> {
        self.threads
            .iter()
            .map(|entry| (entry.key().clone(), entry.value().clone()))
            .collect()
    }
}

/// A conversation's running turn: the others wait until it is dropped.
#[derive(Debug)]
pub struct Turn<'a> {
    conversations: &'a Conversations,
    key: ConversationKey,
    /// Always `Some` until dropped; an `Option` so that the drop can let go
    /// of it before checking whether anyone waits.
    guard: Option<OwnedMutexGuard<()>>,
    previous: Option<ThreadBinding>,
}

impl Turn<'_> {
    /// The thread to continue, if any.
    pub fn previous(&self) -> Option<ThreadBinding> {
        self.previous.clone()
    }

    /// The run asked for thread `thread_id` (a follow-up typed in a
    /// conversation view): it continues that thread, as bound to the live
    /// app-server when it is already the conversation's, else resumed.
    pub fn continue_thread(&mut self, thread_id: &str) {
        if self
            .previous
            .as_ref()
            .is_none_or(|binding| binding.thread_id != thread_id)
        {
            self.previous = Some(earlier_thread(thread_id));
        }
    }

    /// Ends the turn, keeping `binding` (the thread it ran on) for the next
    /// one; without a binding (the thread could not be had) the next turn
    /// starts a new thread. A document conversation whose document closed
    /// during the turn (`is_open` says no) is forgotten instead.
    pub fn finish(self, binding: Option<ThreadBinding>, is_open: impl FnOnce(&str) -> bool) {
        // The check and the write happen under the entry's guard: a close
        // that removed the document after the check waits for the guard,
        // then forgets what was written, so no binding outlives its
        // document.
        let entry = self.conversations.threads.entry(self.key.clone());
        let keep = match &self.key {
            ConversationKey::Document(uri) => is_open(uri),
            ConversationKey::Workspace(_) => true,
        };
        match binding {
            Some(binding) if keep => {
                entry.insert(binding);
            }
            _ => {
                if let dashmap::Entry::Occupied(occupied) = entry {
                    occupied.remove();
                }
            }
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        // Nobody else holds the lock (only the map's reference is left):
        // no turn runs or waits, so the entry can go. A new turn makes a
        // new one.
        release_idle(&self.conversations.turns, &self.key);
    }
}

/// The generation of a binding to an earlier thread: none, as app-server
/// generations count from 1.
const EARLIER: u64 = 0;

/// A binding of an earlier thread (one Codex keeps on disk), to be
/// resumed by the next run.
pub fn earlier_thread(thread_id: &str) -> ThreadBinding {
    ThreadBinding {
        generation: EARLIER,
        thread_id: thread_id.to_string(),
        turns: 0,
        sandbox: None,
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::time::Duration;

    use futures::FutureExt;

    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    fn binding(generation: u64, thread_id: &str) -> ThreadBinding {
        ThreadBinding {
            generation,
            thread_id: thread_id.to_string(),
            turns: 1,
            sandbox: None,
        }
    }

    fn document(uri: &str) -> ConversationKey {
        ConversationKey::Document(uri.to_string())
    }

    fn workspace(folder: &str) -> ConversationKey {
        ConversationKey::Workspace(PathBuf::from(folder))
    }

    fn open(_: &str) -> bool {
        true
    }

    fn closed(_: &str) -> bool {
        false
    }

    #[test]
    fn a_document_scope_keys_by_uri_and_a_workspace_scope_by_folder() {
        let folders = [PathBuf::from("/ws"), PathBuf::from("/ws/inner")];
        let file = Path::new("/ws/inner/src/a.rs");
        let own = Conversation::new(
            Scope::Document,
            "file:///ws/inner/src/a.rs",
            Some(file),
            &folders,
        );
        assert_eq!(own.key, document("file:///ws/inner/src/a.rs"));
        assert_eq!(own.folder, PathBuf::from("/ws/inner"));
        let shared = Conversation::new(
            Scope::Workspace,
            "file:///ws/inner/src/a.rs",
            Some(file),
            &folders,
        );
        assert_eq!(shared.key, workspace("/ws/inner"), "the innermost folder");
        assert_eq!(shared.key.scope(), Scope::Workspace);
        let other = Conversation::new(
            Scope::Workspace,
            "file:///ws/b.rs",
            Some(Path::new("/ws/b.rs")),
            &folders,
        );
        assert_eq!(other.key, workspace("/ws"));
    }

    #[tokio::test]
    async fn a_document_named_like_a_workspace_has_its_own_conversation() {
        let conversations = Conversations::default();
        let shared = workspace("/ws");
        let turn = conversations.take_turn(&shared, false).await;
        turn.finish(Some(binding(1, "shared")), open);
        let lookalike = document("workspace:/ws");
        let turn = conversations.take_turn(&lookalike, false).await;
        assert_eq!(turn.previous(), None, "not the workspace's thread");
    }

    #[tokio::test]
    async fn one_turn_at_a_time_per_conversation() {
        let conversations = Conversations::default();
        let key = document("file:///a.rs");
        let first = conversations.take_turn(&key, false).await;
        let mut second = pin!(conversations.take_turn(&key, false));
        assert!(
            (&mut second).now_or_never().is_none(),
            "a second turn must wait while the first runs"
        );
        first.finish(Some(binding(1, "t1")), open);
        let second = tokio::time::timeout(WAIT, second)
            .await
            .expect("the second turn starts once the first ended");
        assert_eq!(
            second.previous(),
            Some(binding(1, "t1")),
            "and continues the thread the first left"
        );
    }

    #[tokio::test]
    async fn two_conversations_run_concurrently() {
        let conversations = Conversations::default();
        let (a, w, b) = (
            document("file:///a.rs"),
            workspace("/ws"),
            document("file:///b.rs"),
        );
        // Each turn must be had at once, while the others are held.
        let _a = conversations
            .take_turn(&a, false)
            .now_or_never()
            .expect("a");
        let _w = conversations
            .take_turn(&w, false)
            .now_or_never()
            .expect("another conversation's turn never waits");
        assert!(conversations.take_turn(&b, false).now_or_never().is_some());
    }

    #[tokio::test]
    async fn an_abandoned_wait_gives_up_its_place_and_idle_locks_go() {
        let conversations = Conversations::default();
        let key = document("file:///a.rs");
        let first = conversations.take_turn(&key, false).await;
        {
            let mut waiting = pin!(conversations.take_turn(&key, false));
            assert!((&mut waiting).now_or_never().is_none());
        }
        drop(first);
        assert!(
            conversations.turns.is_empty(),
            "no lock kept for idle conversations"
        );
        let again = conversations.take_turn(&key, false).now_or_never();
        assert!(again.is_some());
    }

    #[tokio::test]
    async fn a_turn_continues_the_thread_unless_new_thread() {
        let conversations = Conversations::default();
        let key = document("file:///a.rs");
        let turn = conversations.take_turn(&key, false).await;
        assert_eq!(turn.previous(), None, "a first turn starts a thread");
        turn.finish(Some(binding(1, "t1")), open);
        let turn = conversations.take_turn(&key, false).await;
        assert_eq!(turn.previous(), Some(binding(1, "t1")));
        drop(turn);
        let fresh = conversations.take_turn(&key, true).await;
        assert_eq!(fresh.previous(), None, "newThread starts anew");
        fresh.finish(Some(binding(1, "t2")), open);
        assert_eq!(conversations.list(), vec![(key.clone(), binding(1, "t2"))]);
    }

    #[tokio::test]
    async fn forget_resets_the_conversation() {
        let conversations = Conversations::default();
        let key = workspace("/ws");
        conversations
            .take_turn(&key, false)
            .await
            .finish(Some(binding(1, "t1")), open);
        assert!(conversations.forget(&key));
        assert!(!conversations.forget(&key), "nothing left to forget");
        assert_eq!(conversations.take_turn(&key, false).await.previous(), None);
    }

    #[tokio::test]
    async fn a_turn_without_a_thread_leaves_none_behind() {
        let conversations = Conversations::default();
        let key = document("file:///a.rs");
        conversations
            .take_turn(&key, false)
            .await
            .finish(Some(binding(1, "t1")), open);
        conversations
            .take_turn(&key, false)
            .await
            .finish(None, open);
        assert!(conversations.list().is_empty());
    }

    #[tokio::test]
    async fn closing_forgets_a_document_conversation_but_not_a_workspace_one() {
        let conversations = Conversations::default();
        let own = document("file:///ws/a.rs");
        let shared = workspace("/ws");
        for key in [&own, &shared] {
            conversations
                .take_turn(key, false)
                .await
                .finish(Some(binding(1, "t")), open);
        }
        conversations.document_closed("file:///ws/a.rs");
        assert_eq!(
            conversations.list(),
            vec![(shared.clone(), binding(1, "t"))]
        );
    }

    #[tokio::test]
    async fn a_turn_that_ends_after_its_document_closed_keeps_nothing() {
        let conversations = Conversations::default();
        let own = document("file:///ws/a.rs");
        let shared = workspace("/ws");
        conversations
            .take_turn(&own, false)
            .await
            .finish(Some(binding(1, "t1")), closed);
        conversations
            .take_turn(&shared, false)
            .await
            .finish(Some(binding(1, "t2")), closed);
        assert_eq!(
            conversations.list(),
            vec![(shared, binding(1, "t2"))],
            "a workspace conversation outlives its documents"
        );
    }

    #[tokio::test]
    async fn a_thread_of_another_app_server_needs_resuming() {
        let conversations = Conversations::default();
        let key = document("file:///a.rs");
        assert!(
            !conversations.needs_resume(&key, false, None),
            "no thread, nothing to resume"
        );
        conversations
            .take_turn(&key, false)
            .await
            .finish(Some(binding(1, "t1")), open);
        assert!(
            !conversations.needs_resume(&key, false, Some(1)),
            "same app-server"
        );
        assert!(
            conversations.needs_resume(&key, false, Some(2)),
            "restarted"
        );
        assert!(
            conversations.needs_resume(&key, false, None),
            "none running"
        );
        assert!(
            !conversations.needs_resume(&key, true, Some(2)),
            "newThread does not resume"
        );
    }

    #[tokio::test]
    async fn a_second_run_is_refused_at_once_while_a_turn_runs_unless_it_queues() {
        let conversations = Conversations::default();
        let key = document("file:///a.rs");
        let first = conversations
            .try_reserve(&key)
            .expect("a free conversation");
        assert!(conversations.is_busy(&key));
        assert_eq!(
            conversations.try_reserve(&key).err(),
            Some(ConversationBusy),
            "refused while the first is reserved"
        );
        let first = conversations.turn_for(first, false);
        assert!(
            conversations.try_reserve(&key).is_err(),
            "and while it runs"
        );
        let mut queued = pin!(conversations.take_turn(&key, false));
        assert!((&mut queued).now_or_never().is_none(), "a queued run waits");
        first.finish(Some(binding(1, "t1")), open);
        let queued = tokio::time::timeout(WAIT, queued).await.expect("then runs");
        assert_eq!(queued.previous(), Some(binding(1, "t1")));
        drop(queued);
        assert!(!conversations.is_busy(&key));
        assert!(conversations.try_reserve(&key).is_ok(), "free again");
    }

    #[tokio::test]
    async fn a_dropped_reservation_frees_the_conversation() {
        let conversations = Conversations::default();
        let key = workspace("/ws");
        let reserved = conversations.try_reserve(&key).unwrap();
        drop(reserved);
        assert!(conversations.turns.is_empty(), "no lock kept");
        assert!(conversations.try_reserve(&key).is_ok());
    }

    #[tokio::test]
    async fn an_opened_thread_is_resumed_by_the_next_turn() {
        let conversations = Conversations::default();
        let key = document("file:///a.rs");
        conversations
            .take_turn(&key, false)
            .await
            .finish(Some(binding(1, "t1")), open);
        conversations.open(&key, "earlier");
        assert_eq!(conversations.thread_of(&key).as_deref(), Some("earlier"));
        assert!(
            !conversations.needs_resume(&key, false, Some(1)),
            "reopening is no restart: the begin message must not say Codex restarted"
        );
        let turn = conversations.take_turn(&key, false).await;
        let previous = turn.previous().unwrap();
        assert_eq!(previous.thread_id, "earlier");
        assert_eq!(
            previous.generation, EARLIER,
            "of no live app-server: the run resumes it"
        );
    }

    #[tokio::test]
    async fn a_follow_up_on_a_thread_continues_it() {
        let conversations = Conversations::default();
        let key = document("file:///a.rs");
        conversations
            .take_turn(&key, false)
            .await
            .finish(Some(binding(1, "t1")), open);
        let mut same = conversations.take_turn(&key, false).await;
        same.continue_thread("t1");
        assert_eq!(same.previous(), Some(binding(1, "t1")), "kept as bound");
        drop(same);
        let mut other = conversations.take_turn(&key, false).await;
        other.continue_thread("t9");
        let previous = other.previous().unwrap();
        assert_eq!(
            (previous.thread_id.as_str(), previous.generation),
            ("t9", 0)
        );
    }
}
