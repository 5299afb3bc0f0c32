#!/usr/bin/env bash
# First start of Postgres only: one database and one role per service. Each role owns its database and
# nothing else; PUBLIC may not connect, so a service can never read another service's data.
set -euo pipefail
create() { # create <database> <role> <password>
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v db="$1" -v role="$2" -v password="$3" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'db', :'role') \gexec
SQL
}
create hub hub "${HUB_DB_PASSWORD:?HUB_DB_PASSWORD is missing}"
create auth auth "${AUTH_DB_PASSWORD:?AUTH_DB_PASSWORD is missing}"
create users users "${USER_DB_PASSWORD:?USER_DB_PASSWORD is missing}"
