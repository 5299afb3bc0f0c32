import { randomInt } from 'node:crypto';
import type { Queryable } from '@hubspoke/kit';
import type { EventRecord } from '../domain/event-record.js';
import { USER_DELETED_TYPE } from '../domain/event-record.js';
import { pseudonymised } from '../domain/pseudonyms.js';
import { STATUS_TYPES } from '../domain/report-types.js';
import { epochDay } from '../domain/utc-day.js';
import { DAY_LOCK_BASE, USER_LOCK_SEED } from './count-locks.js';

/** Count rows per key (migrations/0001_create_events.sql): concurrent transactions rarely share a row. */
export const COUNT_SHARDS = 8;

/** An event row's daily count status (migrations/0002_count_job_status.sql): its payload's `status` for STATUS_TYPES, else ''. */
export const countStatusSql = (statusTypesParam: string) =>
  `CASE WHEN type = ANY(${statusTypesParam}::text[]) THEN coalesce(data->>'status', '') ELSE '' END`;

/**
 * Stores events and folds them into the counts in one statement, in the caller's transaction: an event
 * already stored (same id and time) is skipped and counted nowhere, so a replay changes nothing. Users
 * already forgotten are replaced by their pseudonyms (pseudonyms.ts). A call adds to one count shard,
 * upserting in key order, so two batches touching the same rows never deadlock.
 */
export function createEventRepository(db: Queryable) {
  return {
    async insert(records: readonly EventRecord[]): Promise<number> {
      if (records.length === 0) return 0;
      const users = [...new Set(records.flatMap((e) => e.userRefs))].sort();
      const days = [...new Set(records.map((e) => epochDay(e.occurredAt)))].sort((a, b) => a - b);
      // Shared locks (count-locks.ts), so ingestion never waits for ingestion: only for a rebuild of one of
      // these days (which recounts from the events it sees) or a pseudonymisation of a user they name
      // (whose forgotten row the next statement then sees).
      await db.query(
        `SELECT pg_advisory_xact_lock_shared(key) FROM (
           SELECT hashtextextended(u, $2) AS key FROM unnest($1::text[]) AS u
           UNION ALL SELECT $3::bigint + d FROM unnest($4::int[]) AS d) AS locks`,
        [users, USER_LOCK_SEED, DAY_LOCK_BASE, days]);
      const { rows: forgotten } = users.length === 0 ? { rows: [] } : await db.query<{ id: string; pseudonym: string }>(
        `SELECT u AS id, f.pseudonym FROM unnest($1::text[]) AS u JOIN forgotten_users f ON f.user_hash = sha256(convert_to(u, 'UTF8'))`, [users]);
      const pseudonyms = new Map(forgotten.map((row) => [row.id, row.pseudonym]));
      const events = records.map((record) => pseudonymised(record, pseudonyms));
      const { rows } = await db.query<{ inserted: number }>(
        `WITH input AS (
           SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::int[], $5::text[], $6::boolean[], $7::uuid[], $8::jsonb[], $12::jsonb[])
             AS t(id, occurred_at, type, version, source, known, user_id, data, user_refs)
         ), inserted AS (
           INSERT INTO events (id, occurred_at, type, version, source, known, user_id, user_refs, data)
           SELECT id, occurred_at, type, version, source, known, user_id, ARRAY(SELECT jsonb_array_elements_text(user_refs)), data FROM input
           ON CONFLICT DO NOTHING
           RETURNING type, occurred_at, user_id, ${countStatusSql('$11')} AS status
         ), minutes AS (
           INSERT INTO counts_minute (type, bucket, shard, count)
           SELECT type, date_trunc('minute', occurred_at, 'UTC'), $10, count(*) FROM inserted GROUP BY 1, 2 ORDER BY 1, 2
           ON CONFLICT (type, bucket, shard) DO UPDATE SET count = counts_minute.count + excluded.count
         ), days AS (
           INSERT INTO counts_day (type, day, status, shard, count)
           SELECT type, (occurred_at AT TIME ZONE 'UTC')::date, status, $10, count(*) FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
           ON CONFLICT (type, day, status, shard) DO UPDATE SET count = counts_day.count + excluded.count
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
          USER_DELETED_TYPE, randomInt(COUNT_SHARDS), STATUS_TYPES, events.map((e) => JSON.stringify(e.userRefs)),
        ],
      );
      return rows[0]!.inserted;
    },
  };
}
