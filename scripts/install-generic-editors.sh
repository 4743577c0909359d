#!/usr/bin/env bash
# Installs the generic LSP clients whose README snippets the tests check
# (tests/emacs.rs, tests/kakoune.rs), from Debian, when missing:
#   emacs-nox    Emacs 28, driven headless with `emacs --batch`
#   elpa-eglot   eglot 1.9 (the version Debian ships; before 1.18, so no approval prompts)
#   kakoune      Kakoune 2022.10.31, checked with `kak -n -ui dummy`
# kak-lsp is not installed: it is only on crates.io, and building it would add minutes
# of CPU to every fresh run; the Kakoune test checks the snippet without it.
# Helix is in no registry here; its snippet in the README is untested.
# Usage: bash scripts/install-generic-editors.sh
set -euo pipefail

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for package in emacs-nox elpa-eglot kakoune; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "== installing ${missing[*]} (apt)" >&2
as_root apt-get update -qq >&2
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2
