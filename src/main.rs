//! The `codex-ls` binary: command line, tracing to stderr, LSP on stdio.
//! Nothing else touches stdio.

use std::sync::Arc;
use std::time::Duration;

use codex_ls::codex::ProcessLauncher;
use codex_ls::codex::process;
use tower_lsp_server::Server;
use tracing_subscriber::EnvFilter;

const HELP: &str = "\
codex-ls: a language server that brings the Codex coding agent into your editor

Usage:
  codex-ls                    serve the Language Server Protocol on stdio
  codex-ls ask --file PATH [--range L1:L2] [--codex-path P] PROMPT
                              run one prompt on a file (lines 1-based, inclusive)
                              and print the streamed answer
  codex-ls --version          print the version
  codex-ls --help             print this help

Environment:
  CODEX_LS_LOG                log filter for stderr (default: info), e.g. debug
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version" | "-V") => println!("codex-ls {}", env!("CARGO_PKG_VERSION")),
        Some("--help" | "-h") => print!("{HELP}"),
        Some("ask") => match codex_ls::ask::parse_args(&args[1..]) {
            Ok(ask) => {
                // Warnings, and the Codex version found (a line worth
                // seeing when checking a setup).
                init_tracing("warn,codex_ls::codex::version=info");
                std::process::exit(runtime().block_on(run_ask(ask)));
            }
            Err(err) => {
                eprintln!("codex-ls ask: {err}\n\n{HELP}");
                std::process::exit(2);
            }
        },
        None => {
            init_tracing("info");
            let runtime = runtime();
            runtime.block_on(serve());
            // The blocking stdin read may still be pending (after SIGTERM
            // with the editor's pipe open): do not wait for it.
            runtime.shutdown_background();
        }
        Some(other) => {
            eprintln!("codex-ls: unknown argument {other}\n\n{HELP}");
            std::process::exit(2);
        }
    }
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
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
}

async fn run_ask(args: codex_ls::ask::AskArgs) -> i32 {
    process::become_subreaper();
    let code = codex_ls::ask::run(args).await;
    process::kill_and_reap_descendants(Duration::from_secs(1), &[]);
    code
}

async fn serve() {
    // Orphaned codex helpers are reparented to us, so we can reap them.
    process::become_subreaper();
    let (service, socket, supervisor) = codex_ls::build_service(Arc::new(ProcessLauncher));
    // A bad frame from the client must not end the session (see lsp::wire).
    let wire = codex_ls::lsp::wire::guard(tokio::io::stdin(), tokio::io::stdout());
    let serve = Server::new(wire.input, wire.output, socket).serve(service);
    tokio::select! {
        () = serve => tracing::info!("the client closed the connection"),
        () = terminated() => tracing::info!("terminated by signal"),
    }
    // The server's last answers (e.g. to `shutdown`) go out before we exit.
    let _ = tokio::time::timeout(Duration::from_millis(500), wire.flushed).await;
    // After exit, or stdin EOF without shutdown: nothing may outlive us.
    supervisor.shutdown().await;
    process::kill_and_reap_descendants(Duration::from_millis(500), &[]);
}

async fn terminated() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            term.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
