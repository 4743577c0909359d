//! (a) The document store against a naive `String` model under random edit
//! sequences in every position encoding. The harness is
//! `codex_ls::fuzzing::document_store`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = codex_ls::fuzzing::document_store::run(data) {
        panic!("{finding}");
    }
});
