#!/usr/bin/env bash
# First start of Postgres only: one database and one role per service (service-database.psql, which
# scripts/create-service-database.sh also runs on an existing volume).
set -euo pipefail
sql="$(dirname "${BASH_SOURCE[0]}")/service-database.psql"
create() { # create <database> <role> <password>
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v db="$1" -v role="$2" -v password="$3" -f "$sql"
}
create hub hub "${HUB_DB_PASSWORD:?HUB_DB_PASSWORD is missing}"
create auth auth "${AUTH_DB_PASSWORD:?AUTH_DB_PASSWORD is missing}"
create users users "${USER_DB_PASSWORD:?USER_DB_PASSWORD is missing}"
create notification notification "${NOTIFICATION_DB_PASSWORD:?NOTIFICATION_DB_PASSWORD is missing}"
create analytics analytics "${ANALYTICS_DB_PASSWORD:?ANALYTICS_DB_PASSWORD is missing}"
