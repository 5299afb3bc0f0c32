#!/usr/bin/env bash
# First start of Postgres only: the maintenance databases closed to every role but the superuser (and the
# monitoring role, which 02 lets into `postgres`). By default PUBLIC may connect to `postgres` and `template1`
# and make temporary tables there: a service role could then read what they hold and run code outside its own
# database. On an existing volume: `docker compose exec -T postgres psql -v ON_ERROR_STOP=1 -U postgres -d postgres
# < init-scripts/maintenance-databases.psql`.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$(dirname "${BASH_SOURCE[0]}")/maintenance-databases.psql"
