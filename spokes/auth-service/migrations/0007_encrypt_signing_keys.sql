-- Private signing keys encrypted at rest (issue 17): `private_key_sealed` is AES-256-GCM under the key-encryption key
-- `kek_id` (AUTH_KEY_ENCRYPTION_KEY). Rows from before hold `private_jwk` in plaintext until the auth spoke's next
-- start seals them and clears it (src/domain/stored-signing-keys.ts); a row never holds both.
ALTER TABLE signing_keys ALTER COLUMN private_jwk DROP NOT NULL;
ALTER TABLE signing_keys ADD COLUMN private_key_sealed text, ADD COLUMN kek_id text;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_private_once CHECK (
  (private_jwk IS NULL) <> (private_key_sealed IS NULL) AND (private_key_sealed IS NULL) = (kek_id IS NULL));
