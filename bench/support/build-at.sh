#!/usr/bin/env bash
# Builds the workspace as it was at a commit into a folder of its own, for BENCH_COMPARE_HUBS (bench/http.ts):
# `bash bench/support/build-at.sh <commit> <dir>` prints the hub's entry. The folder gets the commit's files (git
# archive) and this checkout's node_modules, linked, except the workspace packages, which point at its own copies.
set -euo pipefail
commit="$1"
dir="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rm -rf "$dir" && mkdir -p "$dir/node_modules/@hubspoke"
git -C "$root" archive "$commit" | tar -x -C "$dir"
for entry in "$root"/node_modules/* "$root/node_modules/.bin"; do
  [ "$(basename "$entry")" = "@hubspoke" ] || ln -s "$entry" "$dir/node_modules/$(basename "$entry")"
done
for link in "$root"/node_modules/@hubspoke/*; do
  ln -s "$(readlink "$link")" "$dir/node_modules/@hubspoke/$(basename "$link")"
done
[ -d "$root/.tools" ] && ln -s "$root/.tools" "$dir/.tools"
(cd "$dir" && bash scripts/node24.sh tsc -b >&2)
echo "$dir/hub-orchestrator/dist/main.js"
