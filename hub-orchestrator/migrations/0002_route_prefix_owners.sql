-- Route prefix ownership (issue 17): a prefix is bound to the first service that claims it and stays bound
-- across restarts of that service, so a spoke with a valid registry key of its own cannot take over another
-- spoke's prefix. Only an admin action on the hub (DELETE /api/hub/registry/prefixes/:prefix) releases it.
-- Kept in the hub's own database, which no spoke can write, unlike the Redis the registry lives in.
CREATE TABLE route_prefix_owners (
  prefix text PRIMARY KEY,
  service text NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);
