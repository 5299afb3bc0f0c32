#!/usr/bin/env bash
# First start of Postgres only: the role postgres-exporter logs in as. pg_monitor lets it read the
# statistics views and settings of every database, and nothing else: it owns nothing and reads no table. It
# connects to `postgres`, which 03 closes to PUBLIC, hence its own CONNECT there.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v role="${MONITORING_DB_ROLE:-monitoring}" \
  -v password="${MONITORING_DB_PASSWORD:?MONITORING_DB_PASSWORD is missing}" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('GRANT pg_monitor TO %I', :'role') \gexec
SELECT format('GRANT CONNECT ON DATABASE postgres TO %I', :'role') \gexec
SQL
