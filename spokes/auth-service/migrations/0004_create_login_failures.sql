-- Failed logins per account (normalised email) and per client IP, for the sliding-window throttle.
CREATE TABLE login_failures (
  scope text NOT NULL CHECK (scope IN ('account', 'ip')),
  subject text NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_subject_idx ON login_failures (scope, subject, failed_at DESC);
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);
