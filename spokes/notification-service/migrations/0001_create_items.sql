-- Items belong to the user who created them: owner_id is the auth spoke's user id (the token's subject).
CREATE TABLE items (
  id uuid PRIMARY KEY,
  owner_id text NOT NULL,
  title text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- An owner pages through their items in (created_at, id) order; user.deleted removes them by owner.
CREATE INDEX items_owner_page_idx ON items (owner_id, created_at, id);
