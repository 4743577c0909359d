//! The answers folder for clients that cannot show streamed progress: one
//! markdown file per answer, in a per-workspace folder under the user's
//! cache directory, outside the workspace tree so it never dirties it.
//! Files are named `<stamp>-<file>-<title>.md` (a UTC stamp that sorts by
//! time, the document's file name, the run's title), so a user browsing the
//! folder finds an answer by when, where and what.
//!
//! Answers hold the user's code, so the folder is private and cannot be
//! redirected: the cache directory must belong to the user and be writable
//! by no one else (a shared temp dir never qualifies), every level codex-ls
//! creates below it is a real directory (not a symlink) of the user with
//! mode 0700, and each file is created new (`O_EXCL`, `O_NOFOLLOW`) with
//! mode 0600, so a planted symlink is never written through. Since only the
//! user can change those levels, what was checked stays true while the file
//! is written. Old answers are pruned after each write: the newest
//! [`KEEP_NEWEST`] per workspace folder are kept, none older than
//! [`KEEP_FOR`].

use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use thiserror::Error;

/// How many answer files a workspace folder keeps.
pub const KEEP_NEWEST: usize = 200;
/// How long an answer file is kept.
pub const KEEP_FOR: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// Why an answer could not be written (the caller shows it in a message).
#[derive(Debug, Error)]
pub enum AnswersError {
    #[error(
        "no private directory for answer files: XDG_CACHE_HOME and HOME are unset and /run/user/{uid} is not a directory of this user; set XDG_CACHE_HOME or HOME"
    )]
    NoCacheDirectory { uid: u32 },
    #[error("answer files are not written to {}: it {problem}", path.display())]
    NotPrivate {
        path: PathBuf,
        problem: &'static str,
    },
    #[error("could not write an answer file in {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `$XDG_CACHE_HOME/codex-ls/answers`, else `$HOME/.cache/...`, else
/// `/run/user/<uid>/codex-ls/answers` (never the temp dir).
pub fn root() -> Result<PathBuf, AnswersError> {
    let uid = current_uid();
    cache_base(|name| std::env::var_os(name), uid)
        .map(|base| base.join("codex-ls").join("answers"))
        .ok_or(AnswersError::NoCacheDirectory { uid })
}

/// The user's cache directory: the variables must name absolute paths; the
/// per-user runtime directory counts only when it is a directory of the user.
fn cache_base(env: impl Fn(&str) -> Option<OsString>, uid: u32) -> Option<PathBuf> {
    let absolute = |name: &str| {
        env(name)
            .map(PathBuf::from)
            .filter(|path| path.is_absolute())
    };
    absolute("XDG_CACHE_HOME")
        .or_else(|| absolute("HOME").map(|home| home.join(".cache")))
        .or_else(|| {
            let runtime = PathBuf::from(format!("/run/user/{uid}"));
            std::fs::symlink_metadata(&runtime)
                .is_ok_and(|meta| meta.is_dir() && meta.uid() == uid)
                .then_some(runtime)
        })
}

/// The folder for this workspace: its name plus a hash of its path.
pub fn folder_for(workspace_folders: &[PathBuf]) -> Result<PathBuf, AnswersError> {
    Ok(root()?.join(folder_name(workspace_folders)))
}

fn folder_name(workspace_folders: &[PathBuf]) -> String {
    let workspace = workspace_folders
        .first()
        .map(PathBuf::as_path)
        .unwrap_or(Path::new("no-workspace"));
    let mut hasher = DefaultHasher::new();
    workspace.hash(&mut hasher);
    let name = workspace
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "workspace".to_string());
    format!("{name}-{:016x}", hasher.finish())
}

/// What an answer file is named after.
#[derive(Debug, Clone, Copy)]
pub struct AnswerName<'a> {
    /// The document's file name (`main.rs`), or its URI's last segment.
    pub file: &'a str,
    /// The run's title (`Codex: Explain`).
    pub title: &'a str,
}

/// The longest a name's file or title part gets, in characters.
const PART_CHARS: usize = 40;

impl AnswerName<'_> {
    /// `<stamp>-<file>-<title>`, without the extension: only ASCII letters,
    /// digits, `.`, `_` and `-`, so no part can leave the folder or hide.
    fn stem(&self, now: SystemTime) -> String {
        let title = self.title.strip_prefix("Codex:").unwrap_or(self.title);
        format!(
            "{}-{}-{}",
            stamp(now),
            slug(self.file, "document"),
            slug(title, "answer")
        )
    }
}

/// `20261202T135334Z`: UTC, fixed width, so names sort by time.
fn stamp(now: SystemTime) -> String {
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`), so no date crate is needed for a stamp.
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Lower-case ASCII letters and digits (and `.` `_` inside), every other
/// run of characters one `-`; `fallback` when nothing is left.
fn slug(text: &str, fallback: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || ((c == '.' || c == '_') && !slug.is_empty()) {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= PART_CHARS {
            break;
        }
    }
    let slug = slug.trim_end_matches(['-', '.']);
    if slug.is_empty() {
        fallback.to_string()
    } else {
        slug.to_string()
    }
}

/// Writes one answer and returns its path.
pub fn write(
    workspace_folders: &[PathBuf],
    name: AnswerName<'_>,
    markdown: &str,
) -> Result<PathBuf, AnswersError> {
    let uid = current_uid();
    let base = cache_base(|name| std::env::var_os(name), uid)
        .ok_or(AnswersError::NoCacheDirectory { uid })?;
    let folder = private_folder(
        &base,
        &["codex-ls", "answers", &folder_name(workspace_folders)],
        uid,
    )?;
    let path = write_in(&folder, &name.stem(SystemTime::now()), markdown)?;
    prune(&folder, SystemTime::now());
    Ok(path)
}

/// Makes sure `base` is the user's and no one else can write in it, then
/// creates (or checks) each of `levels` below it as a private directory.
fn private_folder(base: &Path, levels: &[&str], uid: u32) -> Result<PathBuf, AnswersError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| AnswersError::Io { path, source }
    };
    if !base.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(base)
            .map_err(io(base))?;
    }
    // The base may be a symlink (a user's ~/.cache often is): what counts is
    // the directory it leads to.
    let meta = std::fs::metadata(base).map_err(io(base))?;
    let not_private = |problem| AnswersError::NotPrivate {
        path: base.to_path_buf(),
        problem,
    };
    if !meta.is_dir() {
        return Err(not_private("is not a directory"));
    }
    if meta.uid() != uid {
        return Err(not_private("belongs to another user"));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(not_private(
            "can be written by other users (a shared temp dir?)",
        ));
    }
    let mut folder = base.to_path_buf();
    for level in levels {
        folder.push(level);
        match DirBuilder::new().mode(0o700).create(&folder) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(err) => return Err(io(&folder)(err)),
        }
        let meta = std::fs::symlink_metadata(&folder).map_err(io(&folder))?;
        let not_private = |problem| AnswersError::NotPrivate {
            path: folder.clone(),
            problem,
        };
        if meta.file_type().is_symlink() {
            return Err(not_private("is a symlink"));
        }
        if !meta.is_dir() {
            return Err(not_private("is not a directory"));
        }
        if meta.uid() != uid {
            return Err(not_private("belongs to another user"));
        }
        if meta.mode() & 0o077 != 0 {
            // Ours, made by an older codex-ls with the default mode.
            std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&folder))?;
        }
    }
    Ok(folder)
}

/// Creates a new answer file `<stem>.md` in `folder`, never through an
/// existing name (a planted symlink included): a taken name gets a
/// numbered one.
fn write_in(folder: &Path, stem: &str, markdown: &str) -> Result<PathBuf, AnswersError> {
    let mut last_err = None;
    for attempt in 0..100 {
        let name = match attempt {
            0 => format!("{stem}.md"),
            n => format!("{stem}-{}.md", n + 1),
        };
        let path = folder.join(name);
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path);
        match created {
            Ok(mut file) => {
                return file
                    .write_all(markdown.as_bytes())
                    .map(|()| path.clone())
                    .map_err(|source| AnswersError::Io { path, source });
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => last_err = Some(err),
            Err(source) => return Err(AnswersError::Io { path, source }),
        }
    }
    Err(AnswersError::Io {
        path: folder.to_path_buf(),
        source: last_err.unwrap_or_else(|| std::io::ErrorKind::AlreadyExists.into()),
    })
}

/// Removes the answer files of `folder` past the newest [`KEEP_NEWEST`] or
/// older than [`KEEP_FOR`]. Only regular `.md` files are answers; anything
/// else is left alone. Failures only cost disk space, so they are logged.
fn prune(folder: &Path, now: SystemTime) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    let mut answers: Vec<(SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "md"))
        .filter_map(|entry| {
            // DirEntry::metadata does not follow symlinks.
            let meta = entry.metadata().ok()?;
            let modified = meta.modified().ok()?;
            meta.is_file().then(|| (modified, entry.path()))
        })
        .collect();
    answers.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    let cutoff = now.checked_sub(KEEP_FOR).unwrap_or(SystemTime::UNIX_EPOCH);
    for (n, (modified, path)) in answers.iter().enumerate() {
        let old = n >= KEEP_NEWEST || *modified < cutoff;
        if old && let Err(err) = std::fs::remove_file(path) {
            tracing::debug!("could not prune an old answer file: {err}");
        }
    }
}

fn current_uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn the_cache_directory_comes_from_the_environment_and_never_from_the_temp_dir() {
        let uid = current_uid();
        let xdg = cache_base(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")]), uid);
        assert_eq!(xdg, Some(PathBuf::from("/x")));
        let home = cache_base(env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")]), uid);
        assert_eq!(home, Some(PathBuf::from("/h/.cache")));
        let runtime = PathBuf::from(format!("/run/user/{uid}"));
        let ours = std::fs::symlink_metadata(&runtime)
            .is_ok_and(|meta| meta.is_dir() && meta.uid() == uid);
        let neither = cache_base(env(&[("TMPDIR", "/tmp")]), uid);
        assert_eq!(neither, ours.then_some(runtime));
        // No user has this id: their runtime directory is never ours.
        assert_eq!(cache_base(env(&[]), u32::MAX - 7), None);
    }

    #[test]
    fn a_shared_or_foreign_base_is_refused_and_levels_are_made_private() {
        let uid = current_uid();
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let refused = private_folder(&shared, &["codex-ls"], uid).unwrap_err();
        assert!(
            matches!(refused, AnswersError::NotPrivate { .. }),
            "{refused}"
        );
        assert!(!shared.join("codex-ls").exists());
        let foreign = private_folder(dir.path(), &["a"], uid.wrapping_add(1)).unwrap_err();
        assert!(
            matches!(foreign, AnswersError::NotPrivate { .. }),
            "{foreign}"
        );

        // An older codex-ls left a world-readable level: made private.
        let base = dir.path().join("cache");
        std::fs::create_dir_all(base.join("codex-ls")).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(
            base.join("codex-ls"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let folder = private_folder(&base, &["codex-ls", "answers", "ws-1"], uid).unwrap();
        for level in [
            base.join("codex-ls"),
            base.join("codex-ls/answers"),
            folder.clone(),
        ] {
            let mode = std::fs::symlink_metadata(&level).unwrap().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", level.display());
        }
        let file = write_in(&folder, "20261202T135334Z-a.rs-explain", "# answer\n").unwrap();
        let mode = std::fs::symlink_metadata(&file).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A second answer of the same kind in the same second: a new file.
        let again = write_in(&folder, "20261202T135334Z-a.rs-explain", "# again\n").unwrap();
        assert_ne!(again, file);
        assert!(again.ends_with("20261202T135334Z-a.rs-explain-2.md"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "# answer\n");
    }

    #[test]
    fn names_say_when_where_and_what_and_sort_by_time() {
        let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        let name = AnswerName {
            file: "main.rs",
            title: "Codex: Explain",
        };
        // 2026-12-02 13:53:34 UTC.
        assert_eq!(
            name.stem(at(1_796_219_614)),
            "20261202T135334Z-main.rs-explain"
        );
        assert_eq!(stamp(at(0)), "19700101T000000Z");
        assert_eq!(stamp(at(951_782_400)), "20000229T000000Z");
        assert!(stamp(at(1_796_219_614)) < stamp(at(1_796_219_615)));
        let odd = AnswerName {
            file: "../My File (copy).py",
            title: "Codex: Improve selection / Simplify",
        };
        assert_eq!(
            odd.stem(at(0)),
            "19700101T000000Z-my-file-copy-.py-improve-selection-simplify"
        );
        let empty = AnswerName {
            file: "…",
            title: "",
        };
        assert_eq!(empty.stem(at(0)), "19700101T000000Z-document-answer");
        let long = "x".repeat(500);
        let long = AnswerName {
            file: &long,
            title: &long,
        };
        assert!(long.stem(at(0)).len() <= 16 + 2 + 2 * PART_CHARS);
    }

    #[test]
    fn pruning_keeps_the_newest_and_nothing_past_its_age() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        let age = |minutes: u64| now - Duration::from_secs(minutes * 60);
        let file = |name: &str, modified: SystemTime| {
            let path = dir.path().join(name);
            std::fs::File::create(&path)
                .unwrap()
                .set_modified(modified)
                .unwrap();
            path
        };
        let young: Vec<PathBuf> = (0..KEEP_NEWEST + 3)
            .map(|n| file(&format!("{n}.md"), age(n as u64)))
            .collect();
        let other = file("notes.txt", age(60 * 24 * 30));
        prune(dir.path(), now);
        assert!(young[..KEEP_NEWEST].iter().all(|path| path.exists()));
        assert!(young[KEEP_NEWEST..].iter().all(|path| !path.exists()));
        assert!(other.exists(), "not an answer file");

        for path in &young[..KEEP_NEWEST] {
            std::fs::remove_file(path).unwrap();
        }
        let stale = file("stale.md", now - KEEP_FOR - Duration::from_secs(60));
        let fresh = file("fresh.md", now - KEEP_FOR + Duration::from_secs(3600));
        prune(dir.path(), now);
        assert!(!stale.exists() && fresh.exists());
    }
}
