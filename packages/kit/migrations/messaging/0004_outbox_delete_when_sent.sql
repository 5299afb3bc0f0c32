-- Rows that carry a secret (a link with a one-time token) are deleted as soon as the broker confirms
-- them, instead of being kept as sent until pruning: the secret lives in this table only while it waits.
ALTER TABLE outbox ADD COLUMN delete_when_sent boolean NOT NULL DEFAULT false;
