-- Rows the relay gave up on after too many refusals: kept (and counted) for an operator instead of
-- being retried forever. Clearing parked_at and attempts puts a row back in line.
ALTER TABLE outbox ADD COLUMN parked_at timestamptz;
-- Which exchange the row goes to: 'events' (parked when nobody subscribes) or 'tasks' (must be taken).
ALTER TABLE outbox ADD COLUMN exchange text NOT NULL DEFAULT 'events' CHECK (exchange IN ('events', 'tasks'));
DROP INDEX outbox_unsent_idx;
CREATE INDEX outbox_unsent_idx ON outbox (occurred_at, seq) WHERE sent_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_parked_idx ON outbox (parked_at) WHERE parked_at IS NOT NULL;
-- Pruning deletes sent rows and old dedupe records in time order.
CREATE INDEX outbox_sent_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX processed_messages_processed_at_idx ON processed_messages (processed_at);

-- One row: true while some relay sleeps waiting for a NOTIFY. enqueue() notifies only then, so busy
-- periods cost no NOTIFY per commit (each one serialises commits and wakes every replica's relay).
CREATE TABLE outbox_relay_wakeup (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  waiting boolean NOT NULL DEFAULT true
);
INSERT INTO outbox_relay_wakeup DEFAULT VALUES;
