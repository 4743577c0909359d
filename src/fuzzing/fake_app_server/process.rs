//! The fake app-server as a process of its own: the
//! `codex-ls-fake-app-server` binary, which the real `codex-ls` launches as
//! its `codexPath` (`<path> app-server`).
//!
//! Its script is the JSON file named by `CODEX_LS_FAKE_APP_SERVER_SCRIPT`,
//! else `<the path it was started as>.json`: [`install`] puts a link to the
//! binary and its script side by side, so one `codexPath` is all a test
//! hands to codex-ls. Launches are counted in `<script>.launches` (one byte
//! per launch), so a rule can tell the first launch from later ones.
//!
//! The binary also plays the two halves of [`Step::DetachOrphan`], chosen
//! by its first argument ([`MIDDLE`], [`ORPHAN`]).

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use super::{FakeError, Host, Script, Step, Transcript, serve};

/// The environment variable that names the script file.
pub const SCRIPT_ENV: &str = "CODEX_LS_FAKE_APP_SERVER_SCRIPT";
/// First argument: the middle process of [`Step::DetachOrphan`].
pub const MIDDLE: &str = "--detach-orphan-middle";
/// First argument: the orphan of [`Step::DetachOrphan`].
pub const ORPHAN: &str = "--detach-orphan-helper";

/// Writes `script` to `dir/codex.json` and links `dir/codex` to `binary`
/// (the `codex-ls-fake-app-server` binary); returns the `codexPath`.
pub fn install(dir: &Path, script: &Script, binary: &Path) -> std::io::Result<PathBuf> {
    let codex = dir.join("codex");
    let json = serde_json::to_vec_pretty(script).map_err(std::io::Error::other)?;
    std::fs::write(script_beside(&codex), json)?;
    std::os::unix::fs::symlink(binary, &codex)?;
    Ok(codex)
}

fn script_beside(program: &Path) -> PathBuf {
    let mut name = program.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// The binary's `main`: the fake on stdio, or a half of a detached orphan.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    match args.get(1).and_then(|arg| arg.to_str()) {
        Some(MIDDLE) => return detach_middle(args.get(2)),
        Some(ORPHAN) => return orphan(args.get(2), args.get(3)),
        _ => {}
    }
    let program = args.first().map(PathBuf::from).unwrap_or_default();
    let (script, launch) = match load(&program) {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("codex-ls-fake-app-server: {err}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("codex-ls-fake-app-server: no runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let (_, serving) = serve(
            tokio::io::stdin(),
            tokio::io::stdout(),
            Some(Box::new(tokio::io::stderr())),
            script,
            launch,
            Host::Process,
        );
        serving.await;
    });
    // The stdin reader may still sit in a blocking read on another thread.
    runtime.shutdown_background();
    ExitCode::SUCCESS
}

/// The script (its transcripts loaded) and which launch this is.
fn load(program: &Path) -> Result<(Script, usize), FakeError> {
    let path = std::env::var_os(SCRIPT_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| script_beside(program));
    let failed = |reason: String| FakeError::Script {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read(&path).map_err(|err| failed(err.to_string()))?;
    let mut script: Script =
        serde_json::from_slice(&text).map_err(|err| failed(err.to_string()))?;
    for file in &script.transcript_files {
        script.transcripts.push(Transcript::from_file(file)?);
    }
    let mut launches = path.clone().into_os_string();
    launches.push(".launches");
    let launch = count_launch(Path::new(&launches)).map_err(|err| failed(err.to_string()))?;
    Ok((script, launch))
}

/// Adds this launch to the count in `file`; returns the launches before it.
fn count_launch(file: &Path) -> std::io::Result<usize> {
    let before = std::fs::metadata(file).map_or(0, |meta| meta.len() as usize);
    let mut counter = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?;
    counter.write_all(b".")?;
    Ok(before)
}

/// Takes a step only a process can take. Failures are printed to stderr:
/// the test then sees its helper's pid file missing.
pub(super) async fn run_step(step: &Step) {
    let done = match step {
        Step::SpawnHelper { pid_file } => spawn_helper(pid_file),
        Step::DetachOrphan { pid_file } => detach_orphan(pid_file).await,
        _ => Ok(()),
    };
    if let Err(err) = done {
        eprintln!("codex-ls-fake-app-server: {step:?} failed: {err}");
    }
}

/// Runs `command` in a session of its own, as tools started by Codex are.
fn in_own_session(command: &mut Command) -> &mut Command {
    // SAFETY: setsid is async-signal-safe, and nothing else runs between
    // fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    }
}

/// `sleep 300`, holding the fake's stdout (inherited) after it is gone.
fn spawn_helper(pid_file: &Path) -> std::io::Result<()> {
    let helper = in_own_session(Command::new("sleep").arg("300")).spawn()?;
    std::fs::write(pid_file, helper.id().to_string())
}

/// Starts the middle process and waits for it; it leaves the orphan.
async fn detach_orphan(pid_file: &Path) -> std::io::Result<()> {
    let status = tokio::process::Command::new(std::env::current_exe()?)
        .arg(MIDDLE)
        .arg(pid_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .await?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "the middle process {status}"
        )))
    }
}

/// The middle process: a session of its own, starts the orphan, exits.
fn detach_middle(pid_file: Option<&OsString>) -> ExitCode {
    let Some(pid_file) = pid_file else {
        return ExitCode::FAILURE;
    };
    // SAFETY: setsid takes no arguments; this process leads no group yet.
    unsafe { libc::setsid() };
    let started = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .arg(ORPHAN)
            .arg(pid_file)
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
    });
    match started {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// The orphan: waits until its parent (the middle process) is gone, then
/// writes its pid (atomically: the test reads it) and exits.
fn orphan(pid_file: Option<&OsString>, parent: Option<&OsString>) -> ExitCode {
    let (Some(pid_file), Some(parent)) = (pid_file, parent) else {
        return ExitCode::FAILURE;
    };
    let parent: u32 = parent.to_str().and_then(|p| p.parse().ok()).unwrap_or(0);
    while std::os::unix::process::parent_id() == parent {
        std::thread::sleep(Duration::from_millis(10));
    }
    let pid_file = PathBuf::from(pid_file);
    let mut temporary = pid_file.clone().into_os_string();
    temporary.push(".tmp");
    let written = std::fs::write(&temporary, std::process::id().to_string())
        .and_then(|()| std::fs::rename(&temporary, &pid_file));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
