-- The access token issued with each refresh token (issue 17): a logout revokes every access token of the
-- family that has not expired yet, at the hub, instead of leaving them valid for up to their lifetime.
ALTER TABLE refresh_tokens ADD COLUMN access_token_id text;
ALTER TABLE refresh_tokens ADD COLUMN access_expires_at timestamptz;
