//! Security: snapshot files are private and short-lived, a run never
//! attaches a path outside the workspace folders (or the document's own
//! file) nor follows a symlink out of them, `danger-full-access` and more
//! sandbox permissions are refused unless the configuration allows them,
//! prompts, answers and file contents stay out of the log at `info`, and
//! codex-ls never runs a shell.
//!
//! Already covered elsewhere: the modes of a snapshot directory and its
//! files, and the removal of directories of dead processes, as unit tests
//! (src/prompt/snapshot.rs); snapshots gone after a successful run
//! (tests/in_process.rs `ok_run_streams_losslessly_with_mentions_and_removes_snapshots`).
// Test code: a failed unwrap, expect or panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use codex_ls::codex::Launcher;
use serde_json::{Value, json};
use support::editor::{
    did_open, file_uri, initialize_params, progress_until_end, serve_in_process, spawn_binary,
};
use support::harness::{
    Asked, FakeLauncher, Harness, Plan, SNAPSHOT_PREFIX, ScriptedLauncher, WAIT, answers_folder,
    range, snapshot_root, streaming_caps, transcript,
};
use support::lsp_client::TestClient;
use support::mock_model::{MockModel, Scenario};
use support::tools::codex_binary;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Child;

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Every entry under `root` (itself included).
fn tree(root: &Path) -> Vec<PathBuf> {
    let mut found = vec![root.to_path_buf()];
    let mut i = 0;
    while i < found.len() {
        if found[i].is_dir() {
            for entry in std::fs::read_dir(&found[i]).unwrap() {
                found.push(entry.unwrap().path());
            }
        }
        i += 1;
    }
    found
}

// ---------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_are_private_while_a_run_lasts_and_gone_after_any_outcome() {
    // The first turn hangs until it is cancelled; the second fails.
    let mut h = Harness::start(FakeLauncher::new(vec![Plan::new(&[
        "hang-interrupt",
        "http500",
    ])]))
    .await;
    let uri = h
        .open(
            "src/deep/lib.rs",
            "fn unsaved() {\n    1\n}\n",
            Some("fn saved() {}\n"),
        )
        .await;
    let token = json!("private");
    h.run(json!({"textDocument": {"uri": uri}, "range": range(1, 0, 2, 0), "prompt": "Explain", "progressToken": token}))
        .await;
    assert_eq!(h.next_progress(&token).await["kind"], "begin");
    assert_eq!(h.next_progress(&token).await["kind"], "report");
    let first = h.launcher.asked(0);
    let root = snapshot_root(&first.attachments[0].0).expect("a snapshot directory");
    assert_eq!(first.attachments.len(), 2);
    let entries = tree(&root);
    assert!(
        entries.iter().any(|p| p.ends_with("buffer/src/deep")),
        "{entries:?}"
    );
    // SAFETY: getuid has no preconditions.
    let me = unsafe { libc::getuid() };
    for entry in &entries {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(entry).unwrap();
        assert_eq!(meta.uid(), me, "{}", entry.display());
        let expected = if meta.is_dir() { 0o700 } else { 0o600 };
        assert!(
            meta.is_dir() || meta.is_file(),
            "{} is neither a directory nor a file",
            entry.display()
        );
        assert_eq!(mode(entry), expected, "mode of {}", entry.display());
    }
    h.command("codex.cancel", json!({"token": token}))
        .await
        .unwrap();
    let (_, end) = h.rest_until_end(&token).await;
    assert_eq!(end["codex"]["status"], "interrupted", "{end}");
    assert!(!root.exists(), "cancelled: {} is left", root.display());

    // A failed run removes its snapshots too, before its end report.
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": "fails"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("fails")).await;
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    let second = h.launcher.asked(1);
    let root = snapshot_root(&second.attachments[0].0).expect("a snapshot directory");
    assert!(!root.exists(), "failed: {} is left", root.display());
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"][0]["code"], "server-error");
    h.finish().await;
}

/// `codex-ls` over pipes with the real Codex CLI behind it (see
/// `spawn_binary` for its home).
struct Binary {
    client: TestClient,
    child: Child,
}

impl Binary {
    async fn start(home: &Path, workspace: &Path, log: Option<&str>, stderr: Stdio) -> Binary {
        let (child, mut client) = spawn_binary(home, log, stderr);
        client
            .initialize(initialize_params(
                workspace,
                json!({"window": {"workDoneProgress": true}}),
                json!({"codexPath": codex_binary().display().to_string()}),
            ))
            .await;
        Binary { client, child }
    }

    async fn open(&mut self, path: &Path, text: &str) -> String {
        let uri = file_uri(path);
        did_open(&mut self.client, &uri, text).await;
        uri
    }

    async fn run(&mut self, args: Value) {
        self.client
            .request(
                "workspace/executeCommand",
                json!({"command": "codex.run", "arguments": [args]}),
            )
            .await
            .expect("codex.run");
    }
}

/// A home for codex-ls and Codex, with a `config.toml` for `mock`.
fn home_for(mock: &MockModel) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    mock.write_codex_home(home.path());
    home
}

fn snapshot_dirs(tmp: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with(SNAPSHOT_PREFIX))
        })
        .collect()
}

#[tokio::test]
async fn snapshots_left_by_a_killed_codex_ls_are_removed_at_the_next_start() {
    let mock = MockModel::start(vec![Scenario::Hang {
        chunks_before: vec!["Thinking".into()],
    }])
    .await;
    let home = home_for(&mock);
    let tmp = home.path().join("tmp");
    let workspace = tempfile::tempdir().unwrap();
    // A directory of a live codex-ls (this test's pid) and one that is not
    // a snapshot directory: both must stay.
    let alive = tmp.join(format!("{SNAPSHOT_PREFIX}{}-alive", std::process::id()));
    let unrelated = tmp.join(format!("{SNAPSHOT_PREFIX}not-a-pid"));
    for dir in [&alive, &unrelated] {
        std::fs::create_dir_all(dir.join("buffer")).unwrap();
    }

    let mut first = Binary::start(home.path(), workspace.path(), None, Stdio::null()).await;
    let uri = first
        .open(&workspace.path().join("a.rs"), "fn unsaved() {}\n")
        .await;
    first
        .run(json!({"textDocument": {"uri": uri}, "range": range(0, 0, 0, 5), "prompt": "Explain", "progressToken": "crash"}))
        .await;
    first
        .client
        .expect_notification_where("$/progress", |p| p["value"]["kind"] == "report", WAIT)
        .await;
    let left = snapshot_dirs(&tmp)
        .into_iter()
        .filter(|dir| *dir != alive && *dir != unrelated)
        .collect::<Vec<_>>();
    assert_eq!(left.len(), 1, "{left:?}");
    // A crash: no shutdown, no cleanup.
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();
    assert!(left[0].exists());
    first.client.allow_unclaimed("$/progress");
    drop(first);

    let mut second =
        Binary::start(home.path(), workspace.path(), Some("info"), Stdio::piped()).await;
    let stderr = second.child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let removed = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("snapshot directories left by a crashed codex-ls") {
                return line;
            }
        }
        String::new()
    })
    .await
    .expect("no cleanup was logged");
    assert!(removed.contains("removed 1 "), "{removed}");
    assert!(!left[0].exists(), "{} is left", left[0].display());
    assert!(alive.exists() && unrelated.exists());
    second.client.shutdown_and_exit().await;
    let exited = tokio::time::timeout(WAIT, second.child.wait()).await;
    assert!(exited.is_ok_and(|status| status.is_ok()));
}

// ---------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------

/// Asserts the turn attached nothing but snapshots (gone by now), and that
/// neither an attachment nor the prompt leads to `outside`.
fn attached_only_snapshots(asked: &Asked, outside: &Path) {
    let outside_real = outside.canonicalize().unwrap();
    for (path, placeholder) in &asked.attachments {
        assert!(
            snapshot_root(path).is_some(),
            "{} ({placeholder}) was attached by its path",
            path.display()
        );
        assert!(!path.exists(), "{} is left", path.display());
        let real = asked.cwd.join(path).canonicalize();
        assert!(
            !real.is_ok_and(|real| real.starts_with(&outside_real)),
            "{} ({placeholder}) leads outside",
            path.display()
        );
    }
    assert!(
        !asked.prompt.contains(&outside.display().to_string()),
        "{}",
        asked.prompt
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_out_of_the_workspace_is_never_attached_or_followed() {
    let mut h = Harness::start(FakeLauncher::playing(&["hang-interrupt"])).await;
    let outside = tempfile::tempdir().unwrap();
    let secret_text = "fn secret() {}\n";
    std::fs::write(outside.path().join("secret.rs"), secret_text).unwrap();
    let ws = h.workspace.path().to_path_buf();
    // The document is a symlink to a file outside; another document sits
    // in a symlinked directory that leads outside.
    std::os::unix::fs::symlink(outside.path().join("secret.rs"), ws.join("link.rs")).unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.join("linked")).unwrap();
    for (n, relative) in ["link.rs", "linked/secret.rs"].iter().enumerate() {
        let uri = file_uri(&ws.join(relative));
        // The buffer equals the file it reaches: attaching by path would
        // look right, and lead Codex out of the workspace.
        h.open_uri(&uri, secret_text).await;
        let token = json!(format!("link-{n}"));
        h.run(json!({"textDocument": {"uri": uri}, "prompt": "Explain", "progressToken": token}))
            .await;
        assert_eq!(h.next_progress(&token).await["kind"], "begin");
        assert_eq!(h.next_progress(&token).await["kind"], "report");
        let asked = h.launcher.asked(n);
        let (snapshot, placeholder) = &asked.attachments[0];
        assert!(
            snapshot_root(snapshot).is_some(),
            "{relative} was attached by its path: {}",
            snapshot.display()
        );
        assert_eq!(placeholder, relative);
        assert_eq!(asked.cwd, ws);
        // While the turn runs, the snapshot holds what the editor shows.
        assert_eq!(std::fs::read_to_string(snapshot).unwrap(), secret_text);
        h.command("codex.cancel", json!({"token": token}))
            .await
            .unwrap();
        let (_, end) = h.rest_until_end(&token).await;
        assert_eq!(end["codex"]["status"], "interrupted", "{end}");
        attached_only_snapshots(&asked, outside.path());
    }
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_that_stay_inside_and_a_symlinked_workspace_root_still_attach_by_path() {
    let workspace = tempfile::tempdir().unwrap();
    std::fs::write(workspace.path().join("real.rs"), "fn real() {}\n").unwrap();
    std::os::unix::fs::symlink("real.rs", workspace.path().join("alias.rs")).unwrap();
    // The editor names the workspace through a symlink to it.
    let links = tempfile::tempdir().unwrap();
    let root = links.path().join("ws");
    std::os::unix::fs::symlink(workspace.path(), &root).unwrap();
    let launcher = Arc::new(FakeLauncher::playing(&["ok"]));
    let client = serve_in_process(launcher.clone());
    let mut h = Harness::initialize(
        client,
        launcher,
        workspace,
        &root,
        streaming_caps(),
        json!({}),
    )
    .await;
    for (n, name) in ["alias.rs", "real.rs"].iter().enumerate() {
        let uri = file_uri(&root.join(name));
        h.open_uri(&uri, "fn real() {}\n").await;
        h.run_to_completion(&uri, &format!("inside-{n}")).await;
        let asked = h.launcher.asked(n);
        assert_eq!(asked.cwd, root);
        assert_eq!(
            asked.attachments,
            vec![(PathBuf::from(name), name.to_string())]
        );
    }
    h.finish().await;
}

// ---------------------------------------------------------------------------
// Agent file changes
// ---------------------------------------------------------------------------

/// A harness whose Codex changes `path` (relative to the workspace) with
/// `diff` in its turn, for a client that applies versioned edits.
async fn agent_changes(path: &str, diff: &str) -> Harness {
    let changes =
        json!([{"path": path, "kind": {"type": "update", "move_path": null}, "diff": diff}]);
    let caps = json!({
        "window": {"workDoneProgress": true},
        "workspace": {"applyEdit": true, "workspaceEdit": {"documentChanges": true}},
        "general": {"positionEncodings": ["utf-16"]}
    });
    Harness::start_with(
        FakeLauncher::replaying(vec![transcript("ok").with_file_change(changes)]),
        caps,
        json!({"sandbox": "workspace-write"}),
    )
    .await
}

/// Runs "Change it" on `uri`; the run must complete, and its change not
/// reach the buffer: returns the warning published instead.
async fn change_not_mirrored(h: &mut Harness, uri: &str, token: &str) -> String {
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Change it", "progressToken": token}))
        .await;
    let published = h.diagnostics(uri).await;
    let diagnostic = &published["diagnostics"][0];
    assert_eq!(diagnostic["code"], "merge-conflict", "{published}");
    assert_eq!(diagnostic["severity"], 2, "{published}");
    let (_, _, end) = h.progress_until_end(&json!(token)).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    diagnostic["message"].as_str().unwrap().to_string()
}

/// Whether some thread holds the FIFO open for reading (one blocked in
/// `open` counts): a non-blocking open for writing fails with ENXIO when
/// none does.
fn fifo_has_a_reader(fifo: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
    {
        Ok(_) => true,
        Err(err) => {
            assert_eq!(err.raw_os_error(), Some(libc::ENXIO), "{err}");
            false
        }
    }
}

/// Frees a thread stuck opening the FIFO when the test fails, so that the
/// runtime can shut down.
struct FifoWriterOnDrop(PathBuf);

impl Drop for FifoWriterOnDrop {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_change_to_a_fifo_never_blocks_a_thread() {
    let mut h = agent_changes(
        "pipe.rs",
        "@@ -1,3 +1,3 @@\n fn a() {\n-    1\n+    2\n }\n",
    )
    .await;
    let fifo = h.workspace.path().join("pipe.rs");
    let name = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
    let _unblock = FifoWriterOnDrop(fifo.clone());
    let uri = file_uri(&fifo);
    h.open_uri(&uri, "fn a() {\n    1\n}\n").await;
    let message = change_not_mirrored(&mut h, &uri, "fifo").await;
    assert!(message.contains("not a regular file"), "{message}");
    assert!(
        !fifo_has_a_reader(&fifo),
        "a thread is stuck opening the FIFO"
    );
    h.finish().await;
}

/// The peak resident memory of this process, in bytes.
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .unwrap();
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_change_to_a_huge_file_is_not_read() {
    let mut h = agent_changes("big.rs", "@@ -1 +1 @@\n-x\n+y\n").await;
    let big = h.workspace.path().join("big.rs");
    // Sparse: 2 GiB that cost no disk, behind a 2-byte buffer.
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let uri = file_uri(&big);
    h.open_uri(&uri, "x\n").await;
    let message = change_not_mirrored(&mut h, &uri, "huge").await;
    assert!(message.contains("larger than 16 MiB"), "{message}");
    let peak = peak_memory();
    assert!(peak < 1 << 30, "peak memory {} MiB", peak >> 20);
    h.finish().await;
}

// ---------------------------------------------------------------------------
// Answer files
// ---------------------------------------------------------------------------

/// A client that gets answers as files: it can show documents, and has no
/// progress stream.
fn answer_file_caps() -> Value {
    json!({"window": {"showDocument": {"support": true}}, "general": {"positionEncodings": ["utf-16"]}})
}

/// Starts a harness of such a client whose Codex answers with the recorded
/// `ok` turn, and opens a document; returns it, its URI and the folder its
/// answers go to (which the caller removes).
async fn answer_file_client() -> (Harness, String, PathBuf) {
    let h = Harness::start_with(
        FakeLauncher::playing(&["ok"]),
        answer_file_caps(),
        json!({}),
    )
    .await;
    let folder = answers_folder(h.workspace.path());
    let mut h = h;
    let uri = h.open("g.rs", "fn g() {}\n", Some("fn g() {}\n")).await;
    (h, uri, folder)
}

/// Runs "Explain" on `uri` with no progress token.
async fn run_for_an_answer(h: &mut Harness, uri: &str) {
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Explain"}))
        .await;
}

/// Accepts the next `window/showDocument`; returns the answer file it shows.
async fn answer_file_shown(h: &mut Harness) -> PathBuf {
    let (id, params) = h.client.expect_request("window/showDocument", WAIT).await;
    h.client.respond(id, json!({"success": true})).await;
    let uri = params["uri"].as_str().unwrap();
    PathBuf::from(uri.strip_prefix("file://").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_planted_as_the_answers_folder_is_never_written_through() {
    let (mut h, uri, folder) = answer_file_client().await;
    std::fs::create_dir_all(folder.parent().unwrap()).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &folder).unwrap();
    run_for_an_answer(&mut h, &uri).await;
    // Refused: the answer comes in a message instead.
    let answer = transcript("ok").assistant_text().unwrap();
    let shown = h.shown_message(&answer).await;
    std::fs::remove_file(&folder).unwrap();
    let written: Vec<_> = std::fs::read_dir(elsewhere.path()).unwrap().collect();
    assert!(
        written.is_empty(),
        "written through the symlink: {written:?}"
    );
    assert_eq!(shown["type"], 3, "{shown}");
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_planted_as_an_answer_file_is_never_written_through() {
    let (mut h, uri, folder) = answer_file_client().await;
    std::fs::create_dir_all(&folder).unwrap();
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me\n").unwrap();
    // The names the answer of the first turn can get while the test lasts.
    let turn: String = format!("{}-1", transcript("ok").turn_id)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for stamp in now - 1..=now + WAIT.as_secs() + 5 {
        std::os::unix::fs::symlink(&victim, folder.join(format!("{stamp}-{turn}.md"))).unwrap();
    }
    run_for_an_answer(&mut h, &uri).await;
    let file = answer_file_shown(&mut h).await;
    let victim_now = std::fs::read_to_string(&victim).unwrap();
    let meta = std::fs::symlink_metadata(&file).unwrap();
    let markdown = std::fs::read_to_string(&file).unwrap();
    let (file_mode, folder_mode) = (mode(&file), mode(&folder));
    std::fs::remove_dir_all(&folder).unwrap();
    assert_eq!(victim_now, "keep me\n", "the symlink was written through");
    assert!(meta.is_file(), "{} is not a regular file", file.display());
    assert!(file.starts_with(&folder), "{}", file.display());
    assert_eq!(file_mode, 0o600);
    assert_eq!(folder_mode, 0o700);
    assert!(markdown.contains(&transcript("ok").assistant_text().unwrap()));
    h.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_answer_files_are_pruned_to_the_newest_200_within_14_days() {
    let (mut h, uri, folder) = answer_file_client().await;
    std::fs::create_dir_all(&folder).unwrap();
    let now = std::time::SystemTime::now();
    let create = |name: String, age: Duration| {
        let path = folder.join(name);
        let file = std::fs::File::create(&path).unwrap();
        file.set_modified(now - age).unwrap();
        path
    };
    let day = Duration::from_secs(24 * 60 * 60);
    let stale: Vec<PathBuf> = (0..3)
        .map(|n| create(format!("stale-{n}.md"), 15 * day))
        .collect();
    let kept: Vec<PathBuf> = (0..199)
        .map(|n| create(format!("kept-{n}.md"), Duration::from_secs(60 + n)))
        .collect();
    let pushed_out: Vec<PathBuf> = (0..4)
        .map(|n| create(format!("oldest-{n}.md"), day + Duration::from_secs(n)))
        .collect();
    let not_an_answer = create("notes.txt".into(), 30 * day);
    run_for_an_answer(&mut h, &uri).await;
    let file = answer_file_shown(&mut h).await;
    let answers: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    let gone = |paths: &[PathBuf]| paths.iter().all(|path| !path.exists());
    let (stale_gone, pushed_out_gone) = (gone(&stale), gone(&pushed_out));
    let all_kept = kept.iter().all(|path| path.exists()) && file.exists();
    let other_kept = not_an_answer.exists();
    std::fs::remove_dir_all(&folder).unwrap();
    assert_eq!(answers.len(), 200);
    assert!(stale_gone, "answers older than 14 days are left");
    assert!(pushed_out_gone, "more than 200 answers are left");
    assert!(all_kept, "a recent answer was removed");
    assert!(other_kept, "a file that is no answer was removed");
    h.finish().await;
}

#[tokio::test]
async fn without_home_or_xdg_cache_home_answers_never_go_to_the_temp_dir() {
    let mock = MockModel::start(vec![Scenario::text(["The answer: ", SECRET_ANSWER, "."])]).await;
    let home = home_for(&mock);
    let tmp = home.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let workspace = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_codex-ls"));
    child
        .env("CODEX_HOME", home.path())
        .env_remove("HOME")
        .env_remove("XDG_CACHE_HOME")
        .env("TMPDIR", &tmp)
        .env_remove("CODEX_LS_LOG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = child.spawn().unwrap();
    let mut client = TestClient::new(child.stdout.take().unwrap(), child.stdin.take().unwrap());
    client
        .initialize(initialize_params(
            workspace.path(),
            answer_file_caps(),
            json!({"codexPath": codex_binary().display().to_string()}),
        ))
        .await;
    let uri = file_uri(&workspace.path().join("a.rs"));
    did_open(&mut client, &uri, "fn a() {}\n").await;
    client
        .request(
            "workspace/executeCommand",
            json!({"command": "codex.run", "arguments": [{"textDocument": {"uri": uri}, "prompt": "Explain"}]}),
        )
        .await
        .expect("codex.run");
    // Either a private runtime directory of the user took the answer, or
    // (none here) it is shown in a message; never a file in the temp dir.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let answered =
        |m: &Value| m["method"] == "window/showMessage" && m.to_string().contains(SECRET_ANSWER);
    let shown_as_file = loop {
        client.drain(Duration::from_millis(100)).await;
        let unclaimed = client.unclaimed();
        if unclaimed.iter().any(answered) {
            break false;
        }
        if unclaimed
            .iter()
            .any(|m| m["method"] == "window/showDocument")
        {
            break true;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the answer was never shown"
        );
    };
    let in_tmp: Vec<PathBuf> = tree(&tmp)
        .into_iter()
        .filter(|path| {
            path.is_file()
                && std::fs::read_to_string(path).is_ok_and(|text| text.contains(SECRET_ANSWER))
        })
        .collect();
    assert!(in_tmp.is_empty(), "answers in the temp dir: {in_tmp:?}");
    assert!(!tmp.join("codex-ls").exists());
    if shown_as_file {
        // A private runtime directory of the user took the answer.
        let (id, params) = client.expect_request("window/showDocument", WAIT).await;
        client.respond(id, json!({"success": true})).await;
        let path = params["uri"]
            .as_str()
            .unwrap()
            .trim_start_matches("file://");
        // SAFETY: getuid has no preconditions.
        let runtime = format!("/run/user/{}", unsafe { libc::getuid() });
        assert!(path.starts_with(&runtime), "{path}");
        std::fs::remove_dir_all(Path::new(path).parent().unwrap()).unwrap();
    } else {
        client
            .expect_notification_where(
                "window/showMessage",
                |p| p.to_string().contains(SECRET_ANSWER),
                WAIT,
            )
            .await;
    }
    client.allow_unclaimed("window/showMessage");
    client.allow_unclaimed("$/progress");
    client.shutdown_and_exit().await;
    let exited = tokio::time::timeout(WAIT, child.wait()).await;
    assert!(exited.is_ok(), "codex-ls did not exit");
}

// ---------------------------------------------------------------------------
// The log
// ---------------------------------------------------------------------------

const SECRET_PROMPT: &str = "PROMPT-SECRET-5b1e0c";
const SECRET_FILE: &str = "FILE-SECRET-9d27aa";
const SECRET_ANSWER: &str = "ANSWER-SECRET-41f3e8";

/// One full run through the binary, the real Codex CLI and the mock model,
/// with secrets in the prompt, the document and the answer; returns what
/// codex-ls wrote to stderr.
async fn stderr_of_a_run(log: Option<&str>) -> String {
    let mock = MockModel::start(vec![Scenario::text(["The answer: ", SECRET_ANSWER, "."])]).await;
    let home = home_for(&mock);
    let workspace = tempfile::tempdir().unwrap();
    let log_file = home.path().join("stderr.log");
    let stderr = Stdio::from(std::fs::File::create(&log_file).unwrap());
    let mut server = Binary::start(home.path(), workspace.path(), log, stderr).await;
    let text = format!("fn unsaved() {{\n    let key = \"{SECRET_FILE}\";\n}}\n");
    std::fs::write(workspace.path().join("lib.rs"), "fn saved() {}\n").unwrap();
    let uri = server.open(&workspace.path().join("lib.rs"), &text).await;
    server
        .run(
            json!({"textDocument": {"uri": uri}, "range": range(1, 0, 2, 0),
            "prompt": format!("Explain {SECRET_PROMPT}"), "progressToken": "log"}),
        )
        .await;
    let (_, end) = progress_until_end(&mut server.client, &json!("log")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    let answer = end["codex"]["assistantText"].as_str().unwrap();
    assert!(answer.contains(SECRET_ANSWER), "{answer}");
    let sent = mock.requests()[0].to_string();
    assert!(sent.contains(SECRET_PROMPT) && sent.contains(SECRET_FILE));
    server.client.shutdown_and_exit().await;
    let exited = tokio::time::timeout(WAIT, server.child.wait()).await;
    assert!(exited.is_ok(), "codex-ls did not exit");
    std::fs::read_to_string(&log_file).unwrap()
}

#[tokio::test]
async fn prompts_answers_and_file_contents_stay_out_of_the_log_at_info() {
    for log in [None, Some("info"), Some("warn")] {
        let stderr = stderr_of_a_run(log).await;
        for secret in [SECRET_PROMPT, SECRET_FILE, SECRET_ANSWER] {
            assert!(
                !stderr.contains(secret),
                "CODEX_LS_LOG={log:?}: the log holds {secret}:\n{stderr}"
            );
        }
        if log.is_none() {
            assert!(
                stderr.contains("INFO"),
                "the default level is info:\n{stderr}"
            );
        }
    }
    // The check can see a leak: at trace level the transport logs messages.
    let traced = stderr_of_a_run(Some("trace")).await;
    assert!(traced.contains(SECRET_PROMPT), "trace logs no messages?");
}

/// Every event the process logs, at every level, with its level: a global
/// subscriber (the tasks of a run log from any worker thread), installed
/// once for this test binary.
mod captured_log {
    use std::fmt::Write;
    use std::sync::{Mutex, Once};

    use tracing::field::{Field, Visit};
    use tracing::{Event, Level, Subscriber};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

    static EVENTS: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());
    static INSTALL: Once = Once::new();

    struct Capture;

    struct Fields(String);

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    impl<S: Subscriber> Layer<S> for Capture {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            let level = *event.metadata().level();
            EVENTS.lock().unwrap().push((level, fields.0));
        }
    }

    pub fn install() {
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::registry().with(Capture);
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
    }

    /// The events holding `needle`, as `(level, fields)`.
    pub fn holding(needle: &str) -> Vec<(Level, String)> {
        EVENTS
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, text)| text.contains(needle))
            .cloned()
            .collect()
    }
}

/// Asserts that `secret` was logged, but only below `info` (at `debug` or
/// `trace`, where content may appear): the check could see a leak.
fn logged_only_below_info(secret: &str) {
    let events = captured_log::holding(secret);
    let leaks: Vec<_> = events
        .iter()
        .filter(|(level, _)| *level <= tracing::Level::INFO)
        .collect();
    assert!(leaks.is_empty(), "logged at info or above: {leaks:?}");
    assert!(
        events
            .iter()
            .any(|(level, _)| *level >= tracing::Level::DEBUG),
        "{secret} was never logged, even at debug: the check sees nothing"
    );
}

/// What a hostile app-server gets wrong.
#[derive(Clone, Copy)]
enum Malformed {
    /// Notifications of the turn whose values have the wrong type.
    Notification,
    /// The answer to `thread/start`.
    Reply,
}

const SECRET_NOTIFICATION: &str = "NOTIFICATION-SECRET-3c9a71";
const SECRET_REPLY: &str = "REPLY-SECRET-e08d52";
const SECRET_MALFORMED_ANSWER: &str = "MALFORMED-ANSWER-SECRET-77c1b4";

/// An app-server that sends one kind of malformed message holding a secret,
/// and otherwise answers every turn with "Done".
async fn malformed_app_server(io: tokio::io::DuplexStream, malformed: Malformed) {
    let (read, mut write) = tokio::io::split(io);
    let mut lines = BufReader::new(read).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let id = message["id"].clone();
        let reply = |result: Value| format!("{}\n", json!({"id": id, "result": result}));
        let send = match message["method"].as_str() {
            Some("initialize") => reply(json!({"userAgent": "fake/0.169.0 (test)"})),
            Some("thread/start") => match malformed {
                Malformed::Reply => {
                    reply(json!({"thread": format!("let api_key = \"{SECRET_REPLY}\"")}))
                }
                Malformed::Notification => reply(json!({"thread": {"id": "th"}})),
            },
            Some("turn/start") => {
                let thread = message["params"]["threadId"].clone();
                let secret = format!("let api_key = \"{SECRET_NOTIFICATION}\"");
                // A wrong type, and an unknown variant of the turn's status.
                let retry = json!({"method": "error", "params": {"threadId": thread,
                    "turnId": "tu", "error": {"message": "busy"}, "willRetry": secret}});
                let status = json!({"method": "turn/completed", "params": {"threadId": thread,
                    "turn": {"id": "tu", "status": "completed", "error": secret}}});
                let delta = json!({"method": "item/agentMessage/delta",
                    "params": {"threadId": thread, "turnId": "tu", "itemId": "m", "delta": "Done"}});
                let done = json!({"method": "turn/completed", "params": {"threadId": thread,
                    "turn": {"id": "tu", "status": "completed", "error": null,
                        "items": [{"type": "agentMessage", "id": "m", "text": "Done"}]}}});
                format!(
                    "{}{retry}\n{status}\n{delta}\n{done}\n",
                    reply(json!({"turn": {"id": "tu", "status": "inProgress"}}))
                )
            }
            _ => continue,
        };
        if write.write_all(send.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_quoted_by_malformed_json_from_codex_stay_out_of_the_log_at_info() {
    captured_log::install();

    // A review answer that is JSON of the wrong shape, quoting code.
    let answer = json!({"findings": format!("let api_key = \"{SECRET_MALFORMED_ANSWER}\"")});
    let turns = vec![transcript("ok").with_answer(&answer.to_string())];
    let mut h = Harness::start(FakeLauncher::replaying(turns)).await;
    let uri = h.open("x.rs", "fn x() {}\n", Some("fn x() {}\n")).await;
    let token = json!("malformed-answer");
    h.command(
        "codex.review",
        json!({"textDocument": {"uri": uri}, "range": range(0, 0, 0, 9), "progressToken": token}),
    )
    .await
    .unwrap();
    let (_, _, end) = h.progress_until_end(&token).await;
    assert_eq!(end["codex"]["error"]["code"], "invalid-answer", "{end}");
    let message = end["codex"]["error"]["message"].as_str().unwrap();
    assert!(message.contains("invalid type: string"), "{message}");
    assert!(!message.contains(SECRET_MALFORMED_ANSWER), "{message}");
    let published = h.diagnostics(&uri).await;
    assert!(
        !published.to_string().contains(SECRET_MALFORMED_ANSWER),
        "{published}"
    );
    h.finish().await;
    logged_only_below_info(SECRET_MALFORMED_ANSWER);

    // Malformed notifications are ignored, and the run completes.
    let script = ScriptedLauncher(|io| malformed_app_server(io, Malformed::Notification));
    let mut h = Harness::start(script).await;
    let uri = h.open("a.rs", "x\n", None).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "notification"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("notification")).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    h.finish().await;
    logged_only_below_info(SECRET_NOTIFICATION);

    // A malformed reply fails the run, and says why without the value.
    let script = ScriptedLauncher(|io| malformed_app_server(io, Malformed::Reply));
    let mut h = Harness::start(script).await;
    let uri = h.open("a.rs", "x\n", None).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "reply"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("reply")).await;
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    let message = end["codex"]["error"]["message"].as_str().unwrap();
    assert!(message.contains("thread/start"), "{message}");
    assert!(!message.contains(SECRET_REPLY), "{message}");
    let published = h.diagnostics(&uri).await;
    assert!(!published.to_string().contains(SECRET_REPLY), "{published}");
    h.finish().await;
    logged_only_below_info(SECRET_REPLY);
}

// ---------------------------------------------------------------------------
// Sandbox and escalation
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn danger_full_access_is_refused_unless_the_configuration_allows_it() {
    // A command cannot ask for it: the argument is refused (or ignored).
    let mut h = Harness::start(FakeLauncher::playing(&["ok"])).await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    let asked_for = h
        .command(
            "codex.run",
            json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "args",
                "sandbox": "danger-full-access", "sandboxPolicy": {"type": "dangerFullAccess"}}),
        )
        .await;
    match asked_for {
        Err(error) => assert_eq!(error["code"], -32602, "{error}"),
        Ok(_) => {
            let (_, _, end) = h.progress_until_end(&json!("args")).await;
            assert_eq!(end["codex"]["status"], "completed", "{end}");
        }
    }
    // By default: read-only.
    h.run_to_completion(&uri, "default").await;
    for start in h.launcher.fake(0).received_method("thread/start") {
        assert_eq!(start["params"]["sandbox"], "read-only", "{start}");
    }
    h.finish().await;

    // Set in the configuration, but without allowPrivilegedEscalation:
    // refused before Codex is even started.
    let mut h = Harness::start_with(
        FakeLauncher::playing(&["ok"]),
        streaming_caps(),
        json!({"sandbox": "danger-full-access"}),
    )
    .await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "refused"}))
        .await;
    let (_, _, end) = h.progress_until_end(&json!("refused")).await;
    assert_eq!(end["codex"]["status"], "failed", "{end}");
    assert_eq!(end["codex"]["error"]["code"], "configuration", "{end}");
    let message = end["codex"]["error"]["message"].as_str().unwrap();
    assert!(message.contains("allowPrivilegedEscalation"), "{message}");
    assert_eq!(h.launcher.launches(), 0);
    let published = h.diagnostics(&uri).await;
    assert_eq!(published["diagnostics"][0]["code"], "configuration");
    h.finish().await;

    // Both set: the thread runs with full access.
    let mut h = Harness::start_with(
        FakeLauncher::playing(&["ok"]),
        streaming_caps(),
        json!({"sandbox": "danger-full-access", "allowPrivilegedEscalation": true}),
    )
    .await;
    let uri = h.open("a.rs", "x\n", Some("x\n")).await;
    h.run_to_completion(&uri, "allowed").await;
    let start = &h.launcher.fake(0).received_method("thread/start")[0];
    assert_eq!(start["params"]["sandbox"], "danger-full-access", "{start}");
    h.finish().await;
}

/// An app-server that, in each turn, asks for more sandbox permissions and
/// records the answer in `answers` before it completes the turn.
async fn ask_for_permissions(io: tokio::io::DuplexStream, answers: Arc<Mutex<Vec<Value>>>) {
    let (read, mut write) = tokio::io::split(io);
    let mut lines = BufReader::new(read).lines();
    let mut turn: Option<(Value, String)> = None;
    while let Ok(Some(line)) = lines.next_line().await {
        let Ok(message) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let id = message["id"].clone();
        let reply = |result: Value| format!("{}\n", json!({"id": id, "result": result}));
        let send = match message["method"].as_str() {
            Some("initialize") => reply(json!({"userAgent": "fake/0.169.0 (test)"})),
            Some("thread/start") => reply(json!({"thread": {"id": "th"}})),
            Some("turn/start") => {
                let thread = message["params"]["threadId"].clone();
                turn = Some((thread.clone(), "tu".to_string()));
                let ask = json!({"id": "perm-1", "method": "item/permissions/requestApproval",
                    "params": {"threadId": thread, "turnId": "tu", "itemId": "p1",
                        "reason": "needs the network", "permissions": {"network": {"enabled": true}}}});
                format!(
                    "{}{ask}\n",
                    reply(json!({"turn": {"id": "tu", "status": "inProgress"}}))
                )
            }
            None if message["id"] == "perm-1" => {
                answers.lock().unwrap().push(message.clone());
                let Some((thread, turn_id)) = turn.take() else {
                    continue;
                };
                let delta = json!({"method": "item/agentMessage/delta",
                    "params": {"threadId": thread, "turnId": turn_id, "itemId": "m", "delta": "Done"}});
                let done = json!({"method": "turn/completed", "params": {"threadId": thread,
                    "turn": {"id": turn_id, "status": "completed", "error": null,
                        "items": [{"type": "agentMessage", "id": "m", "text": "Done"}]}}});
                format!("{delta}\n{done}\n")
            }
            _ => continue,
        };
        if write.write_all(send.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A client (that can show message requests) whose run meets a request for
/// more permissions; the answers codex-ls gave to it go into the list.
async fn permissions_run(options: Value) -> (Harness<impl Launcher>, Arc<Mutex<Vec<Value>>>) {
    let answers = Arc::new(Mutex::new(Vec::new()));
    let script = {
        let answers = answers.clone();
        ScriptedLauncher(move |io| ask_for_permissions(io, answers.clone()))
    };
    let mut options = options;
    options["approvalPolicy"] = json!("on-request");
    let caps = json!({"window": {"workDoneProgress": true, "showMessage": {}}});
    let mut h = Harness::start_with(script, caps, options).await;
    let uri = h.open("a.rs", "x\n", None).await;
    h.run(json!({"textDocument": {"uri": uri}, "prompt": "Go", "progressToken": "perm"}))
        .await;
    (h, answers)
}

/// The run's end, and what codex-ls answered to the request.
async fn permissions_outcome(
    h: &mut Harness<impl Launcher>,
    answers: &Mutex<Vec<Value>>,
) -> (Value, Value) {
    let (_, end) = h.rest_until_end(&json!("perm")).await;
    let answer = answers.lock().unwrap().first().cloned();
    (end, answer.expect("codex-ls answered the request"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_sandbox_permissions_are_refused_without_asking_unless_allowed() {
    let (mut h, answers) = permissions_run(json!({})).await;
    let (end, answer) = permissions_outcome(&mut h, &answers).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(answer["result"], json!({"permissions": {}}), "{answer}");
    // The user was told, not asked.
    h.shown_message("allowPrivilegedEscalation").await;
    h.client.drain(Duration::from_millis(200)).await;
    let asked: Vec<Value> = h
        .client
        .unclaimed()
        .into_iter()
        .filter(|m| m["method"] == "window/showMessageRequest")
        .collect();
    assert!(asked.is_empty(), "the user was asked: {asked:?}");

    // Allowed: the user decides, and only the user's Accept grants them.
    let (mut h, answers) = permissions_run(json!({"allowPrivilegedEscalation": true})).await;
    let (id, question) = h
        .client
        .expect_request("window/showMessageRequest", WAIT)
        .await;
    let message = question["message"].as_str().unwrap();
    assert!(
        message.starts_with("Codex wants more permissions"),
        "{message}"
    );
    assert!(message.contains("Reason: needs the network"), "{message}");
    h.client.respond(id, json!({"title": "Accept"})).await;
    let (end, answer) = permissions_outcome(&mut h, &answers).await;
    assert_eq!(end["codex"]["status"], "completed", "{end}");
    assert_eq!(
        answer["result"]["permissions"],
        json!({"network": {"enabled": true}}),
        "{answer}"
    );
    h.finish().await;
}

// ---------------------------------------------------------------------------
// No shell
// ---------------------------------------------------------------------------

/// Every `.rs` file under src/ but the test-only ones, without its
/// `#[cfg(test)]` tail and its comment lines: (path, line number, line).
fn source_lines() -> Vec<(PathBuf, usize, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // Test infrastructure of the `fuzzing` feature, not in the shipped
    // binary: the fake app-server starts helpers as Codex's tools would.
    let test_only = [
        root.join("fuzzing"),
        root.join("bin/codex-ls-fake-app-server.rs"),
    ];
    let mut lines = Vec::new();
    for path in tree(&root) {
        if path.extension().is_none_or(|ext| ext != "rs")
            || test_only.iter().any(|dir| path.starts_with(dir))
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim();
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            lines.push((path.clone(), n + 1, line.to_string()));
        }
    }
    assert!(lines.len() > 1000, "src/ not found");
    lines
}

#[test]
fn codex_ls_never_runs_a_shell() {
    let lines = source_lines();
    let spawns: Vec<&(PathBuf, usize, String)> = lines
        .iter()
        .filter(|(_, _, line)| {
            // clap's `Command` builds the command line, not a process.
            (line.contains("Command::new") && !line.contains("clap::Command"))
                || line.contains("CommandExt")
                || (line.contains("process::") && line.contains("Command"))
        })
        .collect();
    // One place builds a process: the app-server launcher, which runs the
    // Codex binary itself with the `app-server` argument.
    let launcher = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/codex/process.rs");
    for (path, n, line) in &spawns {
        assert_eq!(path, &launcher, "{}:{n}: {line}", path.display());
    }
    let builds: Vec<_> = spawns
        .iter()
        .filter(|(_, _, line)| line.contains("Command::new"))
        .collect();
    assert_eq!(builds.len(), 1, "{builds:?}");
    let (_, n, line) = builds[0];
    assert!(line.contains("Command::new(&binary)"), "{line}");
    let launcher_text = std::fs::read_to_string(&launcher).unwrap();
    let after: String = launcher_text.lines().skip(*n).take(3).collect();
    assert!(after.contains(".arg(\"app-server\")"), "{after}");
    // And nothing else that reaches a shell.
    for needle in [
        "\"sh\"",
        "\"bash\"",
        "/bin/sh",
        "\"-c\"",
        "libc::system",
        "popen",
        "execv",
        "libc::fork",
        "posix_spawn",
    ] {
        let found: Vec<String> = lines
            .iter()
            .filter(|(_, _, line)| line.contains(needle))
            .map(|(path, n, line)| format!("{}:{n}: {}", path.display(), line.trim()))
            .collect();
        assert!(found.is_empty(), "{needle}:\n{}", found.join("\n"));
    }
}
