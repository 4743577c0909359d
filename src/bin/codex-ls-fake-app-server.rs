//! A scriptable fake `codex app-server` for the tests and benches (see
//! `codex_ls::fuzzing::fake_app_server::process`). Built only with the
//! `fuzzing` feature, so `cargo build --release` and `cargo install` leave
//! it out.

fn main() -> std::process::ExitCode {
    codex_ls::fuzzing::fake_app_server::process::main()
}
