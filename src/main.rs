//! The `codex-ls` binary: command line, tracing to stderr, LSP on stdio.
//! Nothing else touches stdio.
//!
//! Every way a session ends takes the same exit path: `exit` (after
//! `shutdown` or not), stdin closed, SIGHUP (the editor's terminal closed),
//! SIGINT, SIGTERM, and the editor closing our stdout or stderr. It cancels
//! the runs, removes every snapshot directory, and kills and reaps the
//! app-server's whole process tree before the process exits.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use codex_ls::codex::ProcessLauncher;
use codex_ls::codex::{process, reaper};
use codex_ls::prompt::snapshot;
use tracing_subscriber::EnvFilter;

const HELP: &str = "\
codex-ls: a language server that brings the Codex coding agent into your editor

Usage:
  codex-ls                    serve the Language Server Protocol on stdio
  codex-ls ask --file PATH [--range L1:L2] [--codex-path P] [--continue | --thread ID] PROMPT
                              run one prompt on a file (lines 1-based, inclusive)
                              and print the streamed answer
  codex-ls --version          print the version
  codex-ls --help             print this help

Environment:
  CODEX_LS_LOG                log filter for stderr (default: info), e.g. debug
";

fn main() {
    // `args_os`, not `args`: an argument that is not UTF-8 is an error
    // clap reports, not a panic.
    let matches = match cli().try_get_matches_from(std::env::args_os()) {
        Ok(matches) => matches,
        Err(err) => exit_with(&err),
    };
    match matches.subcommand() {
        Some(("ask", ask)) => match codex_ls::ask::from_matches(ask) {
            Ok(ask) => {
                // Warnings, and the Codex version found (a line worth
                // seeing when checking a setup).
                init_tracing("warn,codex_ls::codex::version=info");
                std::process::exit(runtime().block_on(run_ask(ask)));
            }
            Err(err) => exit_with(&err),
        },
        _ => {
            init_tracing("info");
            let runtime = runtime();
            runtime.block_on(serve());
            // The blocking stdin read may still be pending (after SIGTERM
            // with the editor's pipe open): do not wait for it.
            runtime.shutdown_background();
        }
    }
}

/// The command line: no arguments serves LSP on stdio; `ask`, `--version`
/// (`-V`) and `--help` (`-h`, the text of [`HELP`]).
fn cli() -> clap::Command {
    clap::Command::new("codex-ls")
        .version(env!("CARGO_PKG_VERSION"))
        .override_help(HELP)
        .disable_help_subcommand(true)
        .subcommand(codex_ls::ask::command())
}

/// Prints clap's message (help and version to stdout, errors to stderr)
/// and exits with its code: 0 for help and version, 2 for a usage error. A
/// closed stdout or stderr is no reason to panic.
fn exit_with(err: &clap::Error) -> ! {
    let _ = err.print();
    std::process::exit(err.exit_code())
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("codex-ls: cannot start the async runtime: {err}");
            std::process::exit(1);
        }
    }
}

fn init_tracing(default: &str) {
    let filter =
        EnvFilter::try_from_env("CODEX_LS_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| StderrLog)
        // Its report of a failed write is an `eprintln!`, which panics when
        // stderr is closed.
        .log_internal_errors(false)
        .with_ansi(false)
        .init();
}

/// Log lines go to stderr, and are dropped once the editor has closed it
/// (Neovim does when it quits): a log line must never end the process, nor
/// skip its cleanup. The closed stderr itself ends the session (see
/// [`stdio_closed`]).
struct StderrLog;

impl Write for StderrLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

async fn run_ask(args: codex_ls::ask::AskArgs) -> i32 {
    process::become_subreaper();
    reaper::start();
    let code = codex_ls::ask::run(args).await;
    process::kill_and_reap_descendants(Duration::from_secs(1), &[]);
    code
}

async fn serve() {
    // Orphaned codex helpers are reparented to us, so we can reap them, as
    // they exit and at the end.
    process::become_subreaper();
    reaper::start();
    let (service, socket, session) = codex_ls::build_service(Arc::new(ProcessLauncher));
    // A bad frame from the client must not end the session (see
    // lsp::transport).
    let connection =
        codex_ls::lsp::transport::serve(tokio::io::stdin(), tokio::io::stdout(), service, socket);
    let mut served = connection.served;
    let end = tokio::select! {
        _ = &mut served => "the client closed the connection".to_string(),
        signal = exit_signal() => format!("ended by {signal}"),
        stream = stdio_closed() => format!("the client closed our {stream}"),
    };
    // First what must not outlive us whatever happens next: the runs stop
    // and the unsaved text in their snapshots goes, synchronously (a run
    // task may never run again).
    let cancelled = session.cancel_runs();
    let removed = snapshot::remove_all();
    tracing::info!("{end}; cancelled {cancelled} runs, removed {removed} snapshot directories");
    // The server's last answers (e.g. to `shutdown`) go out before we exit.
    let _ = tokio::time::timeout(Duration::from_millis(500), connection.flushed).await;
    // Nothing Codex started may outlive us.
    session.shutdown().await;
    process::kill_and_reap_descendants(Duration::from_millis(500), &[]);
}

/// Resolves with the name of the first signal that ends the session:
/// SIGHUP (the terminal of a terminal editor closed), SIGINT or SIGTERM.
async fn exit_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    async fn received(kind: SignalKind, name: &'static str) -> &'static str {
        match signal(kind) {
            Ok(mut stream) => {
                stream.recv().await;
                name
            }
            Err(err) => {
                tracing::warn!("cannot watch for {name}: {err}");
                std::future::pending().await
            }
        }
    }
    tokio::select! {
        name = received(SignalKind::hangup(), "SIGHUP") => name,
        name = received(SignalKind::interrupt(), "SIGINT") => name,
        name = received(SignalKind::terminate(), "SIGTERM") => name,
    }
}

/// Resolves when the client closes the read end of our stdout or stderr
/// (`stdout` or `stderr`). A closed stdout would otherwise be noticed only
/// at the next message, and a closed stderr never: the session would go on
/// with nobody listening.
async fn stdio_closed() -> &'static str {
    let (closed, on_closed) = tokio::sync::oneshot::channel();
    // A plain thread, not the runtime's blocking pool: the runtime must not
    // wait for it when the process ends.
    let watcher = std::thread::Builder::new()
        .name("stdio-watch".to_string())
        .spawn(move || {
            if let Some(stream) = wait_for_closed_stdio() {
                let _ = closed.send(stream);
            }
        });
    if watcher.is_err() {
        return std::future::pending().await;
    }
    match on_closed.await {
        Ok(stream) => stream,
        Err(_) => std::future::pending().await,
    }
}

/// Blocks until stdout or stderr reports an error or a hang-up: a pipe
/// whose reader is gone reports POLLERR, a terminal that went away POLLHUP.
/// Asking for no events means nothing else wakes it (regular files and
/// /dev/null never do). `None` when neither can be watched.
fn wait_for_closed_stdio() -> Option<&'static str> {
    const NAMES: [&str; 2] = ["stdout", "stderr"];
    let mut fds = [1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    loop {
        if fds.iter().all(|fd| fd.fd < 0) {
            return None;
        }
        // SAFETY: poll reads and writes only the array it is given, whose
        // length it is told.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) };
        if ready < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return None;
        }
        for (fd, name) in fds.iter_mut().zip(NAMES) {
            if fd.revents & libc::POLLNVAL != 0 {
                // Not open at all: nothing to watch (poll skips fd -1).
                fd.fd = -1;
            } else if fd.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
                return Some(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    fn parse(args: Vec<OsString>) -> Result<clap::ArgMatches, clap::Error> {
        cli().try_get_matches_from(std::iter::once(OsString::from("codex-ls")).chain(args))
    }

    #[test]
    fn the_command_line_keeps_its_options() {
        assert!(parse(vec![]).unwrap().subcommand().is_none());
        for flag in ["--version", "-V"] {
            let err = parse(vec![flag.into()]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DisplayVersion);
            assert_eq!(
                err.to_string(),
                format!("codex-ls {}\n", env!("CARGO_PKG_VERSION"))
            );
        }
        for flag in ["--help", "-h"] {
            let err = parse(vec![flag.into()]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::DisplayHelp);
            assert_eq!(err.to_string(), HELP);
        }
        let ask = parse(vec!["ask".into(), "--file".into(), "a".into(), "x".into()]).unwrap();
        assert_eq!(ask.subcommand_name(), Some("ask"));
        for unknown in ["bogus", "--bogus", "help"] {
            let err = parse(vec![unknown.into()]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{unknown}: {err}");
        }
    }

    #[test]
    fn an_argument_that_is_not_utf8_is_an_error() {
        let err = parse(vec![OsString::from_vec(b"\xff".to_vec())]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
