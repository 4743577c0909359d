# Run by tests/kakoune.rs in `kak -n -ui dummy`: sources the README's
# Kakoune snippet (the file in CODEX_LS_SNIPPET, extracted verbatim), opens
# a Python file and writes what the snippet did to CODEX_LS_OUT. kak-lsp is
# not installed here, so the two things the snippet takes from it are
# declared as kak-lsp declares them: the `lsp_servers` option, and an
# `lsp-execute-command` that records its arguments instead of sending them.
declare-option str lsp_servers
define-command lsp-execute-command -params 2 %{
    echo -to-file %sh{printf '%s' "$CODEX_LS_OUT.command"} %arg{1} %arg{2}
}
try %{
    source %sh{printf '%s' "$CODEX_LS_SNIPPET"}
    edit %sh{printf '%s' "$CODEX_LS_FILE"}
    set-option window filetype python
    echo -to-file %sh{printf '%s' "$CODEX_LS_OUT.servers"} %opt{lsp_servers}
    codex-cancel
    echo -to-file %sh{printf '%s' "$CODEX_LS_OUT"} PASS
    quit!
} catch %{
    echo -to-file %sh{printf '%s' "$CODEX_LS_OUT"} "FAIL: %val{error}"
    quit! 1
}
