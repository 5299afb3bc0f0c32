-- Every event the spoke has seen, append-only (only pseudonymisation rewrites a row). One partition per UTC
-- day, named events_pYYYYMMDD, created ahead and dropped past the retention by src/data/partition-repository.ts.
-- No default partition: a default partition holding rows would stop a later day's partition from being created.
CREATE TABLE events (
  id uuid NOT NULL,
  occurred_at timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  type text NOT NULL,
  version integer NOT NULL,
  -- The publishing service, or 'client' for POST /events.
  source text NOT NULL,
  -- false: no contract for type/version, so the payload was not read and is not kept.
  known boolean NOT NULL,
  -- The user the event is about or came from; a pseudonym once the user is deleted.
  user_id uuid,
  data jsonb NOT NULL DEFAULT '{}',
  -- The partition key must be part of the key; a redelivered event carries the same occurred_at.
  PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX events_user_idx ON events (user_id, occurred_at DESC, id DESC) WHERE user_id IS NOT NULL;

-- Counts per type, maintained in the transaction that stores the events (src/data/event-repository.ts).
-- Each count is split over a few shards (a transaction picks one at random, readers sum them): with one
-- row per type and day, every transaction storing that type would wait for the previous one's commit.
-- Types compare byte by byte ("C"), so the summary's `job.%` is a range of the key, not a scan.
CREATE TABLE counts_minute (
  type text COLLATE "C" NOT NULL,
  bucket timestamptz NOT NULL,
  shard smallint NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (type, bucket, shard)
);

-- Kept past the events' retention: a year of daily data stays answerable from here alone.
CREATE TABLE counts_day (
  type text COLLATE "C" NOT NULL,
  day date NOT NULL,
  shard smallint NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (type, day, shard)
);

-- Who was active on a day (any event with a user but user.deleted), so distinct users are counted once.
CREATE TABLE active_users (
  day date NOT NULL,
  user_id uuid NOT NULL,
  PRIMARY KEY (day, user_id)
);
CREATE INDEX active_users_user_idx ON active_users (user_id);

-- The distinct count of active_users per day, kept alongside so a year of days is 365 rows, not a scan.
CREATE TABLE active_users_day (
  day date NOT NULL,
  shard smallint NOT NULL,
  count bigint NOT NULL,
  PRIMARY KEY (day, shard)
);

-- Users deleted (user.deleted): their id only as a SHA-256, so an event arriving after the deletion (the bus
-- has no ordering) is pseudonymised on the way in; the pseudonym keeps their distinct counts.
CREATE TABLE forgotten_users (
  user_hash bytea PRIMARY KEY,
  pseudonym uuid NOT NULL,
  forgotten_at timestamptz NOT NULL DEFAULT now()
);
