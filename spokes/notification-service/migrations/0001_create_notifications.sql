-- Addresses the spoke may send to, per user: email from user.registered (source 'account'), phone numbers
-- and push tokens registered by the user (source 'user'). user.deleted removes them.
CREATE TABLE contacts (
  id uuid PRIMARY KEY,
  user_id text NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
  address text NOT NULL,
  source text NOT NULL CHECK (source IN ('account', 'user')),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, channel, address)
);

-- One row per message, and the durable send queue: the worker claims rows that are due
-- (status queued, next_attempt_at passed) with FOR UPDATE SKIP LOCKED.
CREATE TABLE notifications (
  id uuid PRIMARY KEY,
  -- Who asked for it (a welcome email is its new user's): the only one who reads it, with admins.
  owner_id text NOT NULL,
  -- Whose contact it goes to, when it is one this spoke keeps: user.deleted erases these too.
  recipient_user_id text,
  -- event:<envelope id>, key:<owner>:<idempotency key> or job:<job id>:<item key>: one notification each, ever.
  dedupe_key text UNIQUE,
  -- Tells a repeated idempotency key with another body (409) from a retry of the same request.
  request_fingerprint text,
  channel text NOT NULL CHECK (channel IN ('email', 'sms', 'push')),
  recipient text NOT NULL,
  template text NOT NULL,
  subject text NOT NULL,
  body_text text NOT NULL,
  body_html text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
  -- A token of the channel's rate limit was taken when it was queued (hub tasks): the worker takes none.
  paced boolean NOT NULL DEFAULT false,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  -- While sending: past this, the instance that claimed it is presumed dead and the row is reconciled.
  lease_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'queued';
CREATE INDEX notifications_lease_idx ON notifications (lease_until) WHERE status = 'sending';
CREATE INDEX notifications_owner_page_idx ON notifications (owner_id, created_at, id);
CREATE INDEX notifications_recipient_idx ON notifications (recipient_user_id) WHERE recipient_user_id IS NOT NULL;

-- Every provider call. The row is written with outcome 'pending' and committed BEFORE the call (the send
-- intent), and settled after it; a 'pending' row whose lease ran out is a call whose result nobody
-- recorded: reconciled as 'interrupted', never sent again.
CREATE TABLE send_attempts (
  notification_id uuid NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
  number integer NOT NULL,
  provider text NOT NULL,
  outcome text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'sent', 'transient', 'permanent', 'interrupted')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  provider_answer text,
  error text,
  PRIMARY KEY (notification_id, number)
);
