-- The kit's messaging tables, applied to every service database with
-- migrate(pool, MESSAGING_MIGRATIONS_DIR, logger) before the service's own migrations.

-- Transactional outbox: a row is written in the transaction that makes the change it announces and
-- is published by the relay, which sets sent_at only after the broker confirmed it.
CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  type text NOT NULL,
  version integer NOT NULL,
  source text NOT NULL,
  payload jsonb NOT NULL,
  correlation_id text NOT NULL,
  occurred_at timestamptz NOT NULL,
  sent_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  -- A row the broker refused waits (growing delay) instead of blocking the rows behind it.
  next_attempt_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_unsent_idx ON outbox (occurred_at, seq) WHERE sent_at IS NULL;

-- Deliveries a consumer has handled, written in the handler's transaction: a redelivery of the
-- same envelope id finds its row and is acked without running the handler again.
CREATE TABLE processed_messages (
  consumer text NOT NULL,
  message_id uuid NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);
