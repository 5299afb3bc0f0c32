-- The address that was last proven by following a verification link. The email counts as verified only
-- while it equals `email`: an address that changes is unverified until its own link is followed.
ALTER TABLE credentials ADD COLUMN email_verified_for text;

-- One-time tokens emailed as links: verify the address, reset the password. Only the SHA-256 is stored.
-- `email` is the address the link went to; a link for an address the account no longer has is refused.
-- A new token of a purpose deletes the account's unused ones (the newest link is the only one that works);
-- a used one stays until it expires, so presenting it again says "already used".
CREATE TABLE account_tokens (
  token_hash bytea PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES credentials (user_id),
  purpose text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
  email text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose, created_at DESC);
CREATE INDEX account_tokens_expires_idx ON account_tokens (expires_at);
