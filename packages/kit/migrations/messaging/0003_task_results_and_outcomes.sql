-- Task results go back to the dispatcher through the outbox, on their own exchange.
ALTER TABLE outbox DROP CONSTRAINT outbox_exchange_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_exchange_check CHECK (exchange IN ('events', 'tasks', 'results'));

-- What serveTasks did with each (task type, job, item): an item that succeeded is never run again, whatever
-- message brings it back (a redelivery, a retry after a lost result); one that failed runs again. The row is
-- locked while the handler runs, so two copies of one item never run at once.
CREATE TABLE task_outcomes (
  task_type text NOT NULL,
  job_id uuid NOT NULL,
  item_key text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  result jsonb,
  runs integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (task_type, job_id, item_key)
);
CREATE INDEX task_outcomes_updated_at_idx ON task_outcomes (updated_at);
