//! (b) Arbitrary bytes and JSON-RPC messages into the language server. The
//! harness, and the input format, are in `codex_ls::fuzzing::lsp_messages`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A fresh runtime per input: nothing carries over between inputs, and
    // its clock is paused so the server's timers cost no real time.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    if let Err(finding) = runtime.block_on(codex_ls::fuzzing::lsp_messages::run(data)) {
        panic!("{finding}");
    }
});
