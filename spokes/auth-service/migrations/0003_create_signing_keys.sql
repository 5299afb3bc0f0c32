-- Access-token signing keys when AUTH_SIGNING_KEYS is unset. The current key is the one activated
-- most recently; a key is published from insertion until the tokens it signed have expired.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  private_jwk jsonb NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  activates_at timestamptz NOT NULL
);
