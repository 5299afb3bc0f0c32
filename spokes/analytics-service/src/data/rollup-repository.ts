import type { Queryable } from '@hubspoke/kit';
import { USER_DELETED_TYPE } from '../domain/event-record.js';
import { STATUS_TYPES } from '../domain/report-types.js';
import { epochDay } from '../domain/utc-day.js';
import { DAY_LOCK_BASE, REBUILD_LOCK } from './count-locks.js';
import { countStatusSql } from './event-repository.js';

export type Interval = 'minute' | 'hour' | 'day';

export interface CountBucket {
  start: Date;
  count: number;
}

/** A day's count of one type, and of one status of it for STATUS_TYPES ('' otherwise). */
export interface TypeCount {
  type: string;
  status: string;
  count: number;
}

/** One day of the summary's inputs: the day's distinct active users and its counts. */
export interface SummaryDay {
  day: string;
  activeUsers: number;
  counts: TypeCount[];
}

export function createRollupRepository(db: Queryable) {
  return {
    /**
     * Recounts [from, to) (whole UTC days) from the stored events, replacing every count of those days.
     * Ingestion into these days waits while it runs (and it waits for ingestion in flight), so no event is
     * counted in both the recount and a shard written beside it (count-locks.ts); other days are not held.
     */
    async rebuild(from: Date, to: Date): Promise<number> {
      const range = [from, to];
      const days = Array.from({ length: epochDay(to) - epochDay(from) }, (_, i) => epochDay(from) + i);
      await db.query('SELECT pg_advisory_xact_lock_shared($1::bigint)', [REBUILD_LOCK]);
      await db.query('SELECT count(pg_advisory_xact_lock($1::bigint + d)) FROM unnest($2::int[]) AS d', [DAY_LOCK_BASE, days]);
      await db.query('DELETE FROM counts_minute WHERE bucket >= $1 AND bucket < $2', range);
      await db.query(`DELETE FROM counts_day WHERE day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND day < ($2::timestamptz AT TIME ZONE 'UTC')::date`, range);
      await db.query(`DELETE FROM active_users WHERE day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND day < ($2::timestamptz AT TIME ZONE 'UTC')::date`, range);
      await db.query(`DELETE FROM active_users_day WHERE day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND day < ($2::timestamptz AT TIME ZONE 'UTC')::date`, range);
      const { rows } = await db.query<{ events: number }>(
        `WITH minutes AS (
           INSERT INTO counts_minute (type, bucket, shard, count)
           SELECT type, date_trunc('minute', occurred_at, 'UTC'), 0, count(*) FROM events WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1, 2
           RETURNING count
         )
         SELECT coalesce(sum(count), 0)::int AS events FROM minutes`, range);
      await db.query(
        `INSERT INTO counts_day (type, day, status, shard, count)
         SELECT type, (occurred_at AT TIME ZONE 'UTC')::date, ${countStatusSql('$3')}, 0, count(*) FROM events
         WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY 1, 2, 3`, [...range, STATUS_TYPES]);
      await db.query(
        `INSERT INTO active_users (day, user_id)
         SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date, user_id FROM events
         WHERE occurred_at >= $1 AND occurred_at < $2 AND user_id IS NOT NULL AND type <> $3`, [...range, USER_DELETED_TYPE]);
      await db.query(
        `INSERT INTO active_users_day (day, shard, count)
         SELECT day, 0, count(*) FROM active_users
         WHERE day >= ($1::timestamptz AT TIME ZONE 'UTC')::date AND day < ($2::timestamptz AT TIME ZONE 'UTC')::date GROUP BY 1`, range);
      return rows[0]!.events;
    },

    /** Every bucket of [from, to) for one type, zero-filled; both ends aligned to the interval by the caller. One query. */
    async series(type: string, interval: Interval, from: Date, to: Date): Promise<CountBucket[]> {
      const sql = interval === 'day'
        ? `SELECT to_char(b, 'YYYY-MM-DD') AS start, coalesce(sum(c.count), 0)::float8 AS count
           FROM generate_series($2::timestamptz AT TIME ZONE 'UTC', ($3::timestamptz AT TIME ZONE 'UTC') - interval '1 day', interval '1 day') AS b
           LEFT JOIN counts_day c ON c.type = $1 AND c.day = b::date
           GROUP BY b ORDER BY b`
        : `SELECT b AS start, coalesce(sum(c.count), 0)::float8 AS count
           FROM generate_series($2::timestamptz, $3::timestamptz - $4::interval, $4::interval) AS b
           LEFT JOIN counts_minute c ON c.type = $1 AND c.bucket >= b AND c.bucket < b + $4::interval
           GROUP BY b ORDER BY b`;
      const params = interval === 'day' ? [type, from, to] : [type, from, to, `1 ${interval}`];
      const { rows } = await db.query<{ start: Date | string; count: number }>(sql, params);
      return rows.map((row) => ({ start: typeof row.start === 'string' ? new Date(`${row.start}T00:00:00Z`) : row.start, count: row.count }));
    },

    /** Each day of [from, to] (dates, inclusive) with its active users and its counts of `types`, per status. One query. */
    async summary(from: string, to: string, types: readonly string[]): Promise<SummaryDay[]> {
      // Keyed `type` or `type:status` (a type never holds ':'): cheaper to build and parse than an object per count.
      const { rows } = await db.query<{ day: string; active_users: string | null; counts: Record<string, string> }>(
        `WITH counts AS (
           SELECT day, type, status, sum(count) AS count FROM counts_day
           WHERE day BETWEEN $1::date AND $2::date AND type = ANY($3::text[]) GROUP BY 1, 2, 3
         ), active AS (
           SELECT day, sum(count) AS count FROM active_users_day WHERE day BETWEEN $1::date AND $2::date GROUP BY 1
         )
         SELECT to_char(d, 'YYYY-MM-DD') AS day, a.count AS active_users,
                coalesce(jsonb_object_agg(c.type || CASE WHEN c.status = '' THEN '' ELSE ':' || c.status END, c.count)
                  FILTER (WHERE c.type IS NOT NULL), '{}'::jsonb) AS counts
         FROM generate_series($1::date, $2::date, interval '1 day') AS d
         LEFT JOIN active a ON a.day = d::date
         LEFT JOIN counts c ON c.day = d::date
         GROUP BY d, a.count ORDER BY d`, [from, to, types]);
      return rows.map((row) => ({
        day: row.day,
        activeUsers: Number(row.active_users ?? 0),
        counts: Object.entries(row.counts).map(([key, count]) => {
          const [type = key, status = ''] = key.split(':');
          return { type, status, count: Number(count) };
        }),
      }));
    },
  };
}
