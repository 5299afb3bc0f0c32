#!/usr/bin/env bash
# Everything a fresh machine needs before `npm test`: Node 24, the test servers, nginx, npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "setup: node $(bash scripts/node24.sh node -v)"
bash scripts/services.sh
bash scripts/node24.sh npm ci --no-audit --no-fund --loglevel=error
