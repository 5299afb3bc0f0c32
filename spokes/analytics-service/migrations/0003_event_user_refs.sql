-- Every user id an event names, lower-case: its user_id and the fields its contract lists in `userFields`
-- (a notification's ownerId, a job's creatorId), so user.deleted finds and pseudonymises each of them
-- (src/data/forgotten-user-repository.ts) through the index rather than a scan of every partition.
ALTER TABLE events ADD COLUMN user_refs text[] NOT NULL DEFAULT '{}';

-- The events stored before this migration, with the contracts' userFields as they are now.
UPDATE events SET user_refs = ARRAY(
  SELECT DISTINCT lower(ref) FROM unnest(ARRAY[
    user_id::text,
    CASE WHEN known AND type IN ('notification.sent', 'notification.failed') THEN data->>'ownerId' END,
    CASE WHEN known AND type IN ('job.created', 'job.finished') THEN data->>'creatorId' END]) AS ref
  WHERE ref IS NOT NULL)
WHERE user_id IS NOT NULL OR (known AND type IN ('notification.sent', 'notification.failed', 'job.created', 'job.finished'));

CREATE INDEX events_user_refs_idx ON events USING gin (user_refs);

-- Users forgotten before this migration kept their id in events that named them without being their subject:
-- replaced now by their pseudonyms, found by hashing each id as forgotten_users keeps it.
WITH hits AS (
  SELECT e.id, e.occurred_at, jsonb_object_agg(ref, f.pseudonym::text) AS pseudonyms
  FROM events e CROSS JOIN LATERAL unnest(e.user_refs) AS ref JOIN forgotten_users f ON f.user_hash = sha256(convert_to(ref, 'UTF8'))
  GROUP BY 1, 2)
UPDATE events e SET
  user_refs = ARRAY(SELECT coalesce(h.pseudonyms->>ref, ref) FROM unnest(e.user_refs) AS ref),
  data = coalesce((
    SELECT jsonb_object_agg(field, CASE WHEN jsonb_typeof(value) = 'string' THEN coalesce(h.pseudonyms->(lower(value #>> '{}')), value) ELSE value END)
    FROM jsonb_each(e.data) AS d(field, value)), '{}'::jsonb)
FROM hits h WHERE e.id = h.id AND e.occurred_at = h.occurred_at;
