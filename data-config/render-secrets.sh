#!/bin/sh
# Renders a credentials template at container start, then runs the image's own entrypoint:
#   render-secrets.sh <json|sha256> <template> <output> <owner> -- <command...>
# Each ${NAME} in the template becomes the value of the environment variable NAME: JSON-escaped (RabbitMQ definitions)
# or its SHA-256 (a Redis ACL file's `#<hash>` password). Lines starting with `#` are template comments and are dropped.
# Passwords come from the environment, never from argv (visible in `ps`), and the output is readable by <owner> only.
# An empty variable stops the start naming it; with HUBSPOKE_PRODUCTION=true so does a `changeme-` placeholder.
set -eu
mode=$1 template=$2 output=$3 owner=$4
shift 4
[ "${1:-}" = -- ] && shift

fail() { echo "render-secrets: $*" >&2; exit 1; }

transform() { # transform <value>
  case $mode in
    json) printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' ;;
    sha256) printf '%s' "$1" | sha256sum | cut -d ' ' -f 1 ;;
    *) fail "unknown mode $mode (json or sha256)" ;;
  esac
}

umask 077
mkdir -p "$(dirname "$output")"
rendered="$output.rendering"
: > "$rendered"
while IFS= read -r line || [ -n "$line" ]; do
  case $line in '#'*) continue ;; esac
  done_part=''
  while :; do
    case $line in *'${'*'}'*) ;; *) break ;; esac
    name=${line#*'${'}
    name=${name%%'}'*}
    case $name in '' | *[!A-Z0-9_]*) fail "$template: \${$name} is not a variable name" ;; esac
    value=$(printenv "$name") || value=''
    [ -n "$value" ] || fail "$name is empty: set it in .env ($template needs it)"
    case $value in *'
'*) fail "$name holds a line break" ;; esac
    if [ "${HUBSPOKE_PRODUCTION:-false}" = true ]; then
      case $value in changeme-*) fail "$name is still a changeme- placeholder (HUBSPOKE_PRODUCTION=true)" ;; esac
    fi
    done_part="$done_part${line%%"\${$name}"*}$(transform "$value")"
    line=${line#*"\${$name}"}
  done
  printf '%s%s\n' "$done_part" "$line" >> "$rendered"
done < "$template"
mv "$rendered" "$output"
if [ "$(id -u)" = 0 ]; then chown "$owner" "$output"; fi

[ $# -eq 0 ] || exec "$@"
