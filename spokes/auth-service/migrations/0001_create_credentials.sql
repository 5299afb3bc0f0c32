-- One row per account. The email is unique among enabled accounts only: after user.deleted the
-- disabled row stays (audit, and its token families point at it) and the address can register again.
CREATE TABLE credentials (
  user_id uuid PRIMARY KEY,
  email text NOT NULL,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('user', 'admin')),
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);
CREATE UNIQUE INDEX credentials_active_email_key ON credentials (email) WHERE disabled_at IS NULL;
