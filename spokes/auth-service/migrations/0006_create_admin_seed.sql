-- The first admin from ADMIN_EMAIL/ADMIN_PASSWORD is created once, ever, and this row says so. Before it, an
-- admin deleted through the API came back at the next restart with the password from the environment (issue 17).
CREATE TABLE admin_seed (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  email text NOT NULL,
  user_id uuid NOT NULL,
  seeded_at timestamptz NOT NULL DEFAULT now()
);
-- A database that already has (or had) its first admin: that one was the seed.
INSERT INTO admin_seed (email, user_id, seeded_at)
SELECT email, user_id, created_at FROM credentials WHERE role = 'admin' ORDER BY created_at LIMIT 1;
