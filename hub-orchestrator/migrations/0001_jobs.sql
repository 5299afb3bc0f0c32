-- Jobs: fan-out work the hub dispatches to spokes over RabbitMQ (hub-orchestrator/src/jobs). Every replica
-- shares this state: counts live on the job row and change in the transaction that moves an item, so they
-- are exact; the row lock (FOR UPDATE SKIP LOCKED) lets one replica at a time dispatch a job's items.
CREATE TABLE jobs (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  creator_id text NOT NULL,
  creator_role text NOT NULL,
  correlation_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'partially_failed', 'failed', 'cancelled')),
  max_parallel integer NOT NULL,
  rate_per_second double precision,
  retry_limit integer NOT NULL,
  backoff_ms integer NOT NULL,
  max_backoff_ms integer NOT NULL,
  item_timeout_ms integer NOT NULL,
  total integer NOT NULL,
  pending integer NOT NULL,
  running integer NOT NULL DEFAULT 0,
  succeeded integer NOT NULL DEFAULT 0,
  failed integer NOT NULL DEFAULT 0,
  cancelled integer NOT NULL DEFAULT 0,
  retries integer NOT NULL DEFAULT 0,
  throttles integer NOT NULL DEFAULT 0,
  -- Bumped by every change: the id of the job's server-sent events.
  version bigint NOT NULL DEFAULT 1,
  cancel_requested boolean NOT NULL DEFAULT false,
  -- A throttled task pauses the whole job's dispatch until then.
  paused_until timestamptz NOT NULL DEFAULT '-infinity',
  -- ratePerSecond: the earliest time of the next dispatch.
  next_dispatch_at timestamptz NOT NULL DEFAULT '-infinity',
  -- Jobs are served least recently dispatched first, so a huge job cannot starve the others.
  last_dispatch_at timestamptz NOT NULL DEFAULT '-infinity',
  idempotency_key text,
  request_hash text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  UNIQUE (creator_id, idempotency_key),
  CHECK (pending >= 0 AND running >= 0 AND running <= max_parallel)
);
CREATE INDEX jobs_active_idx ON jobs (last_dispatch_at, created_at) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_creator_idx ON jobs (creator_id, created_at DESC, id DESC);
CREATE INDEX jobs_created_idx ON jobs (created_at DESC, id DESC);

CREATE TABLE job_items (
  job_id uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  key text NOT NULL,
  seq integer NOT NULL,
  input jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
  -- Dispatches, throttled ones included; `failures` counts against the retry limit.
  attempts integer NOT NULL DEFAULT 0,
  failures integer NOT NULL DEFAULT 0,
  -- Backoff: a pending item is not dispatched before this.
  available_at timestamptz NOT NULL DEFAULT '-infinity',
  -- The attempt in flight (the task envelope's id) and its lease: no result by then is a failed attempt.
  attempt_id uuid,
  lease_until timestamptz,
  attempt_started_at timestamptz,
  duration_ms integer,
  result jsonb,
  last_error text,
  finished_at timestamptz,
  PRIMARY KEY (job_id, key)
);
-- Dispatch order: items being retried whose backoff is over first (a retry waits its backoff, not the whole
-- queue), then the rest in submission order.
CREATE INDEX job_items_pending_idx ON job_items (job_id, (attempts = 0), available_at, seq) WHERE status = 'pending';
CREATE INDEX job_items_lease_idx ON job_items (lease_until) WHERE status = 'running';
CREATE INDEX job_items_status_idx ON job_items (job_id, status, key);
