#!/usr/bin/env bash
# A service's database and role on a Postgres volume that already exists (init-scripts only run on a fresh
# one), with the same SQL: `bash scripts/create-service-database.sh <db> <role> [<password variable>]`.
# The password comes from the variable (default <ROLE>_DB_PASSWORD) in the environment or in .env.
# Runs through `docker compose exec postgres psql` unless HUBSPOKE_PSQL names another psql command
# connected to the maintenance database (e.g. "psql postgres://postgres@127.0.0.1:5432/postgres").
# Running it again changes nothing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage="usage: $0 <db> <role> [<password variable>]"
db="${1:?$usage}"
role="${2:?$usage}"
variable="${3:-$(echo "$role" | tr '[:lower:]-' '[:upper:]_')_DB_PASSWORD}"
password="${!variable:-}"
if [ -z "$password" ] && [ -f "$root/.env" ]; then
  password="$(sed -n "s/^${variable}=//p" "$root/.env" | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'\$/\1/")"
fi
[ -n "$password" ] || { echo "$0: $variable is not set in the environment or in .env" >&2; exit 1; }
read -r -a psql <<< "${HUBSPOKE_PSQL:-docker compose exec -T postgres psql -U postgres -d postgres}"
"${psql[@]}" -q -v ON_ERROR_STOP=1 -v db="$db" -v role="$role" -v password="$password" < "$root/init-scripts/service-database.psql"
echo "database $db owned by role $role is in place"
