import { randomInt } from 'node:crypto';
import type { Queryable } from '@hubspoke/kit';
import type { EventRecord } from '../domain/event-record.js';
import { USER_DELETED_TYPE } from '../domain/event-record.js';

/** Same key as the user's pseudonymisation takes exclusively (forgotten-user-repository.ts). */
export const USER_LOCK_SEED = 16;

/** Taken exclusively by a rebuild (rollup-repository.ts), shared by every insert. */
export const REBUILD_LOCK = 7_316_001;

/** Count rows per key (migrations/0001_create_events.sql): concurrent transactions rarely share a row. */
export const COUNT_SHARDS = 8;

/**
 * Stores events and folds them into the counts in one statement, in the caller's transaction: an event
 * already stored (same id and time) is skipped and counted nowhere, so a replay changes nothing. A user
 * already forgotten is replaced by their pseudonym, with no data kept. A call adds to one count shard,
 * upserting in key order, so two batches touching the same rows never deadlock.
 */
export function createEventRepository(db: Queryable) {
  return {
    async insert(events: readonly EventRecord[]): Promise<number> {
      if (events.length === 0) return 0;
      const users = [...new Set(events.flatMap((e) => (e.userId ? [e.userId] : [])))].sort();
      // Shared locks, so ingestion never waits for ingestion: only for a rebuild (which recounts from the
      // events it sees) or a pseudonymisation of one of these users (whose forgotten row is then seen below).
      await db.query(
        `SELECT pg_advisory_xact_lock_shared(key) FROM (
           SELECT $1::bigint AS key UNION ALL SELECT hashtextextended(u::text, $3) FROM unnest($2::uuid[]) AS u) AS locks`,
        [REBUILD_LOCK, users, USER_LOCK_SEED]);
      const { rows } = await db.query<{ inserted: number }>(
        `WITH input AS (
           SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[], $5::text[], $6::boolean[], $7::uuid[], $8::jsonb[])
             AS t(id, occurred_at, type, version, source, known, user_id, data)
         ), inserted AS (
           INSERT INTO events (id, occurred_at, type, version, source, known, user_id, data)
           SELECT i.id, i.occurred_at, i.type, i.version, i.source, i.known, coalesce(f.pseudonym, i.user_id),
                  CASE WHEN f.pseudonym IS NULL THEN i.data ELSE '{}'::jsonb END
           FROM input i LEFT JOIN forgotten_users f ON f.user_hash = sha256(convert_to(i.user_id::text, 'UTF8'))
           ON CONFLICT DO NOTHING
           RETURNING type, occurred_at, user_id
         ), minutes AS (
           INSERT INTO counts_minute (type, bucket, shard, count)
           SELECT type, date_trunc('minute', occurred_at, 'UTC'), $10, count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
           ON CONFLICT (type, bucket, shard) DO UPDATE SET count = counts_minute.count + excluded.count
         ), days AS (
           INSERT INTO counts_day (type, day, shard, count)
           SELECT type, (occurred_at AT TIME ZONE 'UTC')::date, $10, count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
           ON CONFLICT (type, day, shard) DO UPDATE SET count = counts_day.count + excluded.count
         ), active AS (
           INSERT INTO active_users (day, user_id)
           SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date, user_id FROM inserted
           WHERE user_id IS NOT NULL AND type <> $9 ORDER BY 1, 2
           ON CONFLICT DO NOTHING
           RETURNING day
         ), active_days AS (
           INSERT INTO active_users_day (day, shard, count)
           SELECT day, $10, count(*) FROM active GROUP BY 1 ORDER BY 1
           ON CONFLICT (day, shard) DO UPDATE SET count = active_users_day.count + excluded.count
         )
         SELECT count(*)::int AS inserted FROM inserted`,
        [
          events.map((e) => e.id), events.map((e) => e.occurredAt), events.map((e) => e.type), events.map((e) => e.version),
          events.map((e) => e.source), events.map((e) => e.known), events.map((e) => e.userId), events.map((e) => JSON.stringify(e.data)),
          USER_DELETED_TYPE, randomInt(COUNT_SHARDS),
        ],
      );
      return rows[0]!.inserted;
    },
  };
}
