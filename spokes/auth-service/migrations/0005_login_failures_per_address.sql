-- Failed logins per (account, client address) instead of per account: five failures from anywhere no longer
-- lock an account for everyone (issue 17). One row per failure; the per-address budget counts the same rows.
-- Counts restart at this migration: they only ever cover the last LOGIN_THROTTLE_WINDOW.
DROP TABLE login_failures;
CREATE TABLE login_failures (
  email text NOT NULL,
  address text NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  -- Set by a successful login of the pair: the pair's delay starts again, the address's budget still counts the row.
  cleared_at timestamptz
);
CREATE INDEX login_failures_pair_idx ON login_failures (email, address, failed_at DESC) WHERE cleared_at IS NULL;
CREATE INDEX login_failures_address_idx ON login_failures (address, failed_at DESC);
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);
