//! (c) Arbitrary lines from the app-server into the client, around a prompt
//! run. The harness, and the script format, are in
//! `codex_ls::fuzzing::app_server_lines`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A fresh runtime per input, on a paused clock: the client's 30 s
    // timeouts and the run's timeout cost no real time.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    if let Err(finding) = runtime.block_on(codex_ls::fuzzing::app_server_lines::run(data)) {
        panic!("{finding}");
    }
});
