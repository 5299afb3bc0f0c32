#!/bin/sh
# Writes the hub upstream servers from DNS before nginx starts, then keeps watching in the background:
# when `--scale hub-orchestrator=N` adds or removes replicas, the file is rewritten and nginx reloaded.
# (nginx < 1.27.3 has no `resolve` for upstream servers; this works on every version.)
set -eu
host="${HUB_HOST:-hub-orchestrator}"
port="${HUB_PORT:-3000}"
file="${HUB_SERVERS_FILE:-/etc/nginx/hub-upstream/servers.conf}"
interval="${HUB_WATCH_INTERVAL:-2}"
mkdir -p "$(dirname "$file")"
# The image's welcome site would answer `Host: localhost` before our default server does.
rm -f /etc/nginx/conf.d/default.conf

render() {
  addresses=$(getent ahostsv4 "$host" 2>/dev/null | awk '{print $1}' | sort -u)
  if [ -z "$addresses" ]; then
    # No replica resolvable yet: a closed local port makes nginx answer its JSON 502 instead of failing to start.
    echo "server 127.0.0.1:9 max_fails=0;"
    return
  fi
  for a in $addresses; do echo "server $a:$port max_fails=1 fail_timeout=2s;"; done
}

render > "$file"
echo "hub-upstreams: $(grep -c server "$file") hub address(es) for $host:$port"

(
  while sleep "$interval"; do
    next=$(render)
    if [ "$next" != "$(cat "$file")" ]; then
      echo "$next" > "$file"
      echo "hub-upstreams: hub addresses changed, reloading nginx: $(echo "$next" | tr '\n' ' ')"
      nginx -s reload || true
    fi
  done
) &
