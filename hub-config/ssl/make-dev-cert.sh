#!/usr/bin/env bash
# Makes a self-signed development certificate for the gateway's optional TLS server (never for production).
set -euo pipefail
# Writes into hub-config/ssl/ (or the folder given as the first argument).
dir="${1:-$(cd "$(dirname "$0")" && pwd)}"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$dir/dev.key" -out "$dir/dev.crt" 2>/dev/null
chmod 644 "$dir/dev.key" # read by the nginx workers, a dev-only key
echo "wrote $dir/dev.crt and $dir/dev.key; start with: docker compose -f docker-compose.yml -f docker-compose.tls.yml up -d"
