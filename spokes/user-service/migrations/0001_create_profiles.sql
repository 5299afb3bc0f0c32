-- One profile per user of the auth spoke (same id). email and name are null until known: a profile
-- made from an access token that lacks them is completed by the later user.registered event.
CREATE TABLE profiles (
  id uuid PRIMARY KEY,
  email text,
  name text,
  bio text,
  avatar_key text,
  preferences jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  -- Soft delete: the row stays so a late user.registered (or a still-valid token) can't bring it back.
  deleted_at timestamptz
);

-- The admin list pages through live profiles in (created_at, id) order.
CREATE INDEX profiles_live_page_idx ON profiles (created_at, id) WHERE deleted_at IS NULL;
