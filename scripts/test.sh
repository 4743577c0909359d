#!/usr/bin/env bash
# The whole test suite: installs its own test tools into git-ignored folders
# under .tools/ (reused when present), then runs formatting and lint checks
# and every test. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.tools"
mkdir -p "$tools"

codex_version=0.169.0
codex_dir="$tools/codex"
codex_bin="$codex_dir/node_modules/.bin/codex"
if [ ! -x "$codex_bin" ] || ! "$codex_bin" --version 2>/dev/null | grep -q "$codex_version"; then
  echo "== installing @openai/codex@$codex_version into .tools/codex"
  command -v npm >/dev/null || { echo "npm is needed to install the Codex CLI for the tests" >&2; exit 1; }
  mkdir -p "$codex_dir"
  npm install --prefix "$codex_dir" --no-audit --no-fund --loglevel=error "@openai/codex@$codex_version" </dev/null
fi
export CODEX_LS_TEST_CODEX="$codex_bin"
echo "== $("$codex_bin" --version)"
CODEX_LS_TEST_NVIM=$(bash scripts/install-nvim.sh); export CODEX_LS_TEST_NVIM
bash scripts/install-vscode-tools.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "== cargo test (unit, in-process and real end-to-end tests)"
set +e
cargo test --lib --bins --tests 2>&1 | tee "$tools/test-output.txt"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '[0-9]+ passed' "$tools/test-output.txt" | awk '{s+=$1} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed' "$tools/test-output.txt" | awk '{s+=$1} END {print s+0}')
echo "$passed passed, $failed failed"
exit "$status"
