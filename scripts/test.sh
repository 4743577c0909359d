#!/usr/bin/env bash
# The whole test suite: installs its own test tools into git-ignored folders
# under .tools/ (reused when present), then runs formatting and lint checks
# and every test. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.tools"
mkdir -p "$tools"

# The Codex CLI the suite pins; codex-ls supports 0.169 to 0.171 (see
# src/codex/version.rs), and a small set also runs against npm `latest`.
codex_version=0.169.0

# Installs @openai/codex@$1 into .tools/$2 unless that version is there.
install_codex() {
  local version=$1 dir="$tools/$2"
  local bin="$dir/node_modules/.bin/codex"
  if [ ! -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -qF "$version"; then
    echo "== installing @openai/codex@$version into .tools/$2" >&2
    command -v npm >/dev/null || { echo "npm is needed to install the Codex CLI for the tests" >&2; exit 1; }
    rm -rf "$dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@openai/codex@$version" </dev/null >&2
  fi
  echo "$bin"
}

codex_bin=$(install_codex "$codex_version" codex)
export CODEX_LS_TEST_CODEX="$codex_bin"
echo "== $("$codex_bin" --version)"

# npm `latest`, when the registry answers: drift shows the day it happens.
latest_bin=""
if latest=$(timeout 60 npm view @openai/codex version 2>/dev/null </dev/null) && [ -n "$latest" ]; then
  latest_bin=$(install_codex "$latest" codex-latest)
  echo "== npm latest: $("$latest_bin" --version)"
else
  echo "== skipping the tests against npm latest: the npm registry did not answer \`npm view @openai/codex version\`"
fi
CODEX_LS_TEST_NVIM=$(bash scripts/install-nvim.sh); export CODEX_LS_TEST_NVIM
bash scripts/install-vscode-tools.sh
# Emacs + eglot and Kakoune, whose README snippets tests/emacs.rs and tests/kakoune.rs load.
bash scripts/install-generic-editors.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test (unit, in-process and real end-to-end tests)"
set +e
cargo test --lib --bins --tests 2>&1 | tee "$tools/test-output.txt"
status=${PIPESTATUS[0]}
if [ -n "$latest_bin" ]; then
  echo "== real Codex tests against npm latest ($("$latest_bin" --version))"
  CODEX_LS_TEST_CODEX="$latest_bin" cargo test --test real_codex 2>&1 | tee -a "$tools/test-output.txt"
  latest_status=${PIPESTATUS[0]}
  [ "$status" -ne 0 ] || status=$latest_status
fi
set -e
passed=$(grep -Eo '[0-9]+ passed' "$tools/test-output.txt" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$tools/test-output.txt" | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"
exit "$status"
