//! Turns what the user sees (buffer, selection, workspace) into a prompt and
//! its `@path` attachments. Codex does not read `@path` mentions itself: the
//! model opens the files with its tools, so every path must exist and hold
//! what the user sees. A buffer that differs from disk (or has no file) is
//! written to a snapshot file; a selection always gets a snapshot of its own.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use super::error::PromptRunError;
use super::params::{PromptAttachment, PromptRunParams};
use super::snapshot::SnapshotDir;

/// Default for `inlineSelectionLimit`: selected text up to this many bytes
/// also goes into the prompt itself.
pub const DEFAULT_INLINE_SELECTION_LIMIT: usize = 8192;

/// The selected text and the lines it covers (0-based, inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub text: String,
    pub first_line: u32,
    pub last_line: u32,
}

/// What the editor shows, as a run needs it.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The document's file, when it has one.
    pub file_path: Option<PathBuf>,
    /// A name for documents without a file (e.g. `untitled:Untitled-1`).
    pub fallback_name: String,
    pub language_id: String,
    /// The buffer's current text.
    pub buffer: String,
    pub workspace_folders: Vec<PathBuf>,
    pub selection: Option<Selection>,
    pub inline_selection_limit: usize,
}

impl RunContext {
    /// The workspace folder that contains the document (the innermost, for
    /// nested roots), else the document's directory, else the first folder.
    pub fn cwd(&self) -> PathBuf {
        working_dir(self.file(), &self.workspace_folders)
    }

    /// The document's file when its path is plain: absolute, without `..`.
    /// Where a climbing path leads depends on symlinks, not on how it reads,
    /// so such a document is handled like an untitled buffer.
    fn file(&self) -> Option<&Path> {
        self.file_path.as_deref().filter(|file| is_plain_path(file))
    }

    /// The document's name as the user knows it: relative to `cwd` when it is
    /// inside it.
    fn display_path(&self, cwd: &Path) -> PathBuf {
        match self.file() {
            Some(file) => file
                .strip_prefix(cwd)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| file.to_path_buf()),
            None => PathBuf::from(sanitize_name(&self.fallback_name)),
        }
    }

    /// What the file on disk is to the run. Codex follows symlinks when it
    /// opens an attached path, so the file is attached by its path only when
    /// its real path (all symlinks resolved) is inside a workspace folder's
    /// real path, or when it is the document's own file with no symlink on
    /// its way. Only a regular file of the buffer's length is read.
    fn on_disk(&self) -> OnDisk {
        let Some(file) = self.file() else {
            return OnDisk::Differs;
        };
        let Ok(real) = std::fs::canonicalize(file) else {
            return OnDisk::Differs;
        };
        let same_size = std::fs::metadata(&real)
            .is_ok_and(|meta| meta.is_file() && meta.len() == self.buffer.len() as u64);
        if !same_size || !std::fs::read(&real).is_ok_and(|bytes| bytes == self.buffer.as_bytes()) {
            return OnDisk::Differs;
        }
        let inside = real == file
            || self.workspace_folders.iter().any(|folder| {
                std::fs::canonicalize(folder).is_ok_and(|folder| real.starts_with(folder))
            });
        if inside {
            OnDisk::Attachable
        } else {
            OnDisk::LeadsOutside
        }
    }
}

/// Whether `path` is absolute and has no `..` segment: where a climbing
/// path leads depends on symlinks, not on how it reads.
pub fn is_plain_path(path: &Path) -> bool {
    path.is_absolute()
        && !path
            .components()
            .any(|component| matches!(component, Component::ParentDir))
}

/// The document's file on disk, as a run sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDisk {
    /// It holds the buffer's text and may be attached by its path.
    Attachable,
    /// It holds the buffer's text, but its path leads out of the workspace
    /// folders through a symlink: the buffer goes in a snapshot.
    LeadsOutside,
    /// No file, or one that differs from the buffer: a snapshot.
    Differs,
}

/// The workspace folder that contains `file` (the innermost, for nested
/// roots), else the file's directory, else the first folder.
pub fn working_dir(file: Option<&Path>, workspace_folders: &[PathBuf]) -> PathBuf {
    if let Some(file) = file {
        let containing = workspace_folders
            .iter()
            .filter(|folder| file.starts_with(folder))
            .max_by_key(|folder| folder.components().count());
        if let Some(folder) = containing {
            return folder.clone();
        }
        if let Some(parent) = file.parent() {
            return parent.to_path_buf();
        }
    }
    workspace_folders
        .first()
        .cloned()
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(std::env::temp_dir)
}

/// A run ready to execute, and the snapshots it owns.
pub struct PlannedRun {
    pub params: PromptRunParams,
    pub snapshots: Option<SnapshotDir>,
}

/// Builds the run's prompt and attachments; `template` supplies model,
/// policies and timeout.
pub fn build_run(
    context: &RunContext,
    user_prompt: &str,
    template: PromptRunParams,
) -> Result<PlannedRun, PromptRunError> {
    let cwd = context.cwd();
    let display = context.display_path(&cwd);
    let display_str = display.to_string_lossy().into_owned();
    let mut snapshots: Option<SnapshotDir> = None;

    let mut prompt = String::from(user_prompt);
    let mut attachments = Vec::new();
    let _ = write!(
        prompt,
        "\n\nContext from the editor:\n- File: `{display_str}` (language: {}).",
        context.language_id
    );
    let on_disk = context.on_disk();
    if on_disk == OnDisk::Attachable {
        prompt.push_str(" It is attached below.");
        attachments.push(PromptAttachment::AtPath {
            path: display.clone(),
            placeholder: display_str.clone(),
        });
    } else {
        let path = snapshot_dir(&mut snapshots)?
            .write(&Path::new("buffer").join(&display), &context.buffer)
            .map_err(|err| runtime("write the buffer snapshot", err))?;
        let content = if on_disk == OnDisk::LeadsOutside {
            "content"
        } else {
            "unsaved content"
        };
        let _ = write!(
            prompt,
            "\n- The attached file `{}` is a snapshot of the {content} of `{display_str}` as the user sees it in the editor; read it instead of the file on disk.",
            path.display()
        );
        attachments.push(PromptAttachment::AtPath {
            path,
            placeholder: display_str.clone(),
        });
    }

    if let Some(selection) = &context.selection {
        let (first, last) = (selection.first_line + 1, selection.last_line + 1);
        let label = format!("{display_str}:{first}-{last}");
        let name = selection_file_name(&display, first, last);
        let path = snapshot_dir(&mut snapshots)?
            .write(&Path::new("selection").join(name), &selection.text)
            .map_err(|err| runtime("write the selection snapshot", err))?;
        let _ = write!(
            prompt,
            "\n- The user selected lines {first}-{last} of `{display_str}`; the selection is attached as `{}`.",
            path.display()
        );
        if selection.text.len() <= context.inline_selection_limit {
            let fence = fence_for(&selection.text);
            let _ = write!(
                prompt,
                " Selected text:\n{fence}{}\n{}\n{fence}",
                context.language_id,
                selection.text.trim_end_matches(['\n', '\r'])
            );
        }
        attachments.push(PromptAttachment::AtPath {
            path,
            placeholder: label,
        });
    }

    let params = PromptRunParams {
        cwd,
        prompt,
        attachments,
        ..template
    };
    Ok(PlannedRun { params, snapshots })
}

/// The run's snapshot directory, created on first use.
fn snapshot_dir(slot: &mut Option<SnapshotDir>) -> Result<&SnapshotDir, PromptRunError> {
    if slot.is_none() {
        *slot =
            Some(SnapshotDir::create().map_err(|err| runtime("create a snapshot directory", err))?);
    }
    slot.as_ref()
        .ok_or_else(|| PromptRunError::Runtime("no snapshot directory".into()))
}

fn runtime(what: &str, err: std::io::Error) -> PromptRunError {
    PromptRunError::Runtime(format!("could not {what}: {err}"))
}

/// `lib.lines-10-24.rs` for `src/lib.rs`: the extension stays last so the
/// model still sees the language.
fn selection_file_name(display: &Path, first: u32, last: u32) -> String {
    let stem = display
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "selection".into());
    match display.extension() {
        Some(ext) => format!("{stem}.lines-{first}-{last}.{}", ext.to_string_lossy()),
        None => format!("{stem}.lines-{first}-{last}"),
    }
}

/// A code fence longer than any run of backticks in the text.
fn fence_for(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// A file name for a document without a file: the last segment of its name.
fn sanitize_name(name: &str) -> String {
    let last = name
        .rsplit(['/', ':', '\\'])
        .find(|part| !part.is_empty())
        .unwrap_or("untitled");
    last.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(dir: &Path, buffer: &str, selection: Option<Selection>) -> RunContext {
        RunContext {
            file_path: Some(dir.join("src/lib.rs")),
            fallback_name: String::new(),
            language_id: "rust".into(),
            buffer: buffer.into(),
            workspace_folders: vec![dir.to_path_buf()],
            selection,
            inline_selection_limit: DEFAULT_INLINE_SELECTION_LIMIT,
        }
    }

    fn template() -> PromptRunParams {
        PromptRunParams::new(PathBuf::new(), String::new())
    }

    #[test]
    fn a_clean_buffer_is_attached_by_its_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "fn a() {}\n").unwrap();
        let planned = build_run(
            &context(dir.path(), "fn a() {}\n", None),
            "Explain",
            template(),
        )
        .unwrap();
        assert!(planned.snapshots.is_none());
        assert_eq!(planned.params.cwd, dir.path());
        assert_eq!(
            planned.params.attachments,
            vec![PromptAttachment::AtPath {
                path: PathBuf::from("src/lib.rs"),
                placeholder: "src/lib.rs".into()
            }]
        );
    }

    #[test]
    fn a_dirty_buffer_and_a_selection_get_snapshots_that_hold_what_the_user_sees() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/lib.rs"), "old\n").unwrap();
        let selection = Selection {
            text: "let x = 1;\n".into(),
            first_line: 9,
            last_line: 9,
        };
        let planned = build_run(
            &context(dir.path(), "new\nlet x = 1;\n", Some(selection)),
            "Explain",
            template(),
        )
        .unwrap();
        let snapshots = planned.snapshots.as_ref().unwrap();
        let [
            PromptAttachment::AtPath {
                path: buffer,
                placeholder: buffer_label,
            },
            PromptAttachment::AtPath {
                path: sel,
                placeholder: sel_label,
            },
        ] = planned.params.attachments.as_slice()
        else {
            panic!("expected two attachments: {:?}", planned.params.attachments)
        };
        assert!(buffer.starts_with(snapshots.path()));
        assert_eq!(
            std::fs::read_to_string(buffer).unwrap(),
            "new\nlet x = 1;\n"
        );
        assert_eq!(buffer_label, "src/lib.rs");
        assert_eq!(std::fs::read_to_string(sel).unwrap(), "let x = 1;\n");
        assert_eq!(sel_label, "src/lib.rs:10-10");
        assert!(sel.to_string_lossy().ends_with("lib.lines-10-10.rs"));
        let prompt = &planned.params.prompt;
        assert!(prompt.starts_with("Explain"));
        assert!(prompt.contains("unsaved content of `src/lib.rs`"));
        assert!(prompt.contains("lines 10-10"));
        assert!(prompt.contains("```rust\nlet x = 1;\n```"));
    }

    #[test]
    fn a_long_selection_is_not_inlined() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(
            dir.path(),
            "abc",
            Some(Selection {
                text: "abc".into(),
                first_line: 0,
                last_line: 0,
            }),
        );
        ctx.inline_selection_limit = 2;
        let planned = build_run(&ctx, "Explain", template()).unwrap();
        assert!(!planned.params.prompt.contains("Selected text"));
    }

    #[test]
    fn cwd_is_the_innermost_workspace_folder_else_the_directory() {
        let mut ctx = context(Path::new("/w"), "", None);
        ctx.workspace_folders = vec![
            PathBuf::from("/w"),
            PathBuf::from("/w/src"),
            PathBuf::from("/other"),
        ];
        assert_eq!(ctx.cwd(), PathBuf::from("/w/src"));
        ctx.workspace_folders = vec![PathBuf::from("/other")];
        assert_eq!(ctx.cwd(), PathBuf::from("/w/src"));
        ctx.file_path = None;
        assert_eq!(ctx.cwd(), PathBuf::from("/other"));
    }

    #[test]
    fn untitled_documents_are_snapshotted_under_a_safe_name() {
        let dir = tempfile::tempdir().unwrap();
        let mut ctx = context(dir.path(), "scratch", None);
        ctx.file_path = None;
        ctx.fallback_name = "untitled:Untitled 1".into();
        let planned = build_run(&ctx, "Explain", template()).unwrap();
        let PromptAttachment::AtPath { path, placeholder } = &planned.params.attachments[0] else {
            panic!()
        };
        assert_eq!(placeholder, "Untitled_1");
        assert_eq!(std::fs::read_to_string(path).unwrap(), "scratch");
    }

    /// The buffer's attachment: (path, placeholder).
    fn buffer_attachment(planned: &PlannedRun) -> (PathBuf, String) {
        match &planned.params.attachments[0] {
            PromptAttachment::AtPath { path, placeholder } => (path.clone(), placeholder.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_out_of_the_workspace_is_never_attached_by_its_path() {
        let (workspace, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let secret = outside.path().join("secret.rs");
        std::fs::write(&secret, "fn secret() {}\n").unwrap();
        std::os::unix::fs::symlink(&secret, workspace.path().join("link.rs")).unwrap();
        std::os::unix::fs::symlink(outside.path(), workspace.path().join("linked")).unwrap();
        for file in ["link.rs", "linked/secret.rs"] {
            let mut ctx = context(workspace.path(), "fn secret() {}\n", None);
            ctx.file_path = Some(workspace.path().join(file));
            let planned = build_run(&ctx, "Explain", template()).unwrap();
            let (path, placeholder) = buffer_attachment(&planned);
            assert_eq!(placeholder, file);
            assert!(
                path.starts_with(planned.snapshots.as_ref().unwrap().path()),
                "{path:?}"
            );
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "fn secret() {}\n");
            assert!(
                planned
                    .params
                    .prompt
                    .contains(&format!("snapshot of the content of `{file}`"))
            );
            assert_eq!(planned.params.cwd, workspace.path());
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_that_stay_inside_and_a_symlinked_workspace_root_are_attached() {
        let workspace = tempfile::tempdir().unwrap();
        std::fs::write(workspace.path().join("real.rs"), "x").unwrap();
        std::os::unix::fs::symlink("real.rs", workspace.path().join("alias.rs")).unwrap();
        let mut ctx = context(workspace.path(), "x", None);
        ctx.file_path = Some(workspace.path().join("alias.rs"));
        let planned = build_run(&ctx, "Explain", template()).unwrap();
        assert!(planned.snapshots.is_none());
        assert_eq!(buffer_attachment(&planned).0, PathBuf::from("alias.rs"));

        let links = tempfile::tempdir().unwrap();
        let root = links.path().join("ws");
        std::os::unix::fs::symlink(workspace.path(), &root).unwrap();
        let mut ctx = context(&root, "x", None);
        ctx.file_path = Some(root.join("real.rs"));
        let planned = build_run(&ctx, "Explain", template()).unwrap();
        assert!(planned.snapshots.is_none());
        assert_eq!(buffer_attachment(&planned).0, PathBuf::from("real.rs"));
    }

    #[test]
    fn the_documents_own_file_outside_every_folder_is_attached_by_its_path() {
        let (workspace, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let own = outside.path().join("own.rs");
        std::fs::write(&own, "x").unwrap();
        let mut ctx = context(workspace.path(), "x", None);
        ctx.file_path = Some(own.clone());
        let planned = build_run(&ctx, "Explain", template()).unwrap();
        assert!(planned.snapshots.is_none());
        assert_eq!(planned.params.cwd, outside.path());
        let (path, _) = buffer_attachment(&planned);
        assert_eq!(planned.params.cwd.join(path), own);
    }

    #[test]
    fn a_climbing_path_is_handled_like_an_untitled_buffer() {
        let (workspace, outside) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        std::fs::write(outside.path().join("secret.rs"), "x").unwrap();
        let climbing = workspace
            .path()
            .join("..")
            .join(outside.path().file_name().unwrap())
            .join("secret.rs");
        let mut ctx = context(workspace.path(), "x", None);
        ctx.file_path = Some(climbing.clone());
        ctx.fallback_name = format!("file://{}", climbing.display());
        let planned = build_run(&ctx, "Explain", template()).unwrap();
        let (path, placeholder) = buffer_attachment(&planned);
        assert_eq!(placeholder, "secret.rs");
        assert!(path.starts_with(planned.snapshots.as_ref().unwrap().path()));
        assert_eq!(planned.params.cwd, workspace.path());
        assert!(
            !planned.params.prompt.contains(".."),
            "{}",
            planned.params.prompt
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_not_read() {
        let workspace = tempfile::tempdir().unwrap();
        let fifo = workspace.path().join("pipe.rs");
        let name = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path and touches nothing else.
        assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
        let mut ctx = context(workspace.path(), "", None);
        ctx.file_path = Some(fifo);
        // Reading the FIFO would block forever; it goes in a snapshot.
        let planned = build_run(&ctx, "Explain", template()).unwrap();
        assert!(planned.snapshots.is_some());
    }

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        assert_eq!(fence_for("plain"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }
}
