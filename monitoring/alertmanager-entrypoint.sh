#!/bin/sh
# Alertmanager reads no environment variables: this renders its configuration template from the environment,
# then runs it. Each ${NAME} is replaced by NAME's value (NAME must be set; it may be empty); a line starting
# `#NAME:` is kept, without that marker, only when NAME is not empty (optional receivers). Runs under the
# image's busybox sh. ALERTMANAGER_TEMPLATE, ALERTMANAGER_CONFIG and ALERTMANAGER_BIN override the paths.
# Usage: alertmanager-entrypoint.sh [alertmanager flags...]
set -eu
template=${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml}
config=${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}
newline='
'

fail() {
  echo "alertmanager: $1" >&2
  exit 1
}

# The value goes between YAML double quotes (escape \ and "), through a sed replacement (escape \ & |).
escaped() {
  printf '%s' "$1" | sed -e 's/[\\"]/\\&/g' -e 's/[\\&|]/\\&/g'
}

script=''
for name in $(grep -o -e '\${[A-Z0-9_]*}' -e '^#[A-Z0-9_]*:' "$template" | tr -d '${}#:' | sort -u); do
  eval "set_=\${$name+yes} value=\${$name-}"
  [ "$set_" = yes ] || fail "$name is not set (see .env.example)"
  case $value in *"$newline"*) fail "$name holds a line break" ;; esac
  [ -n "$value" ] && script="$script
s|^#$name:||"
  script="$script
s|\\\${$name}|$(escaped "$value")|g"
done

umask 077
sed -e "$script" "$template" > "$config"
exec "${ALERTMANAGER_BIN:-/bin/alertmanager}" "--config.file=$config" "$@"
