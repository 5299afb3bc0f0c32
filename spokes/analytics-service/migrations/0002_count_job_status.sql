-- A daily count per status of the types whose payload has one (today job.finished, whose contract bounds
-- `status` to an enum): the summary's jobs by status, read from the event, not inferred. '' for every other
-- type. Daily counts of job.finished written before this carry '': `analytics.aggregate` recounts a retained day.
ALTER TABLE counts_day ADD COLUMN status text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE counts_day DROP CONSTRAINT counts_day_pkey;
ALTER TABLE counts_day ADD PRIMARY KEY (type, day, status, shard);
