import type { Queryable } from '@hubspoke/kit';

/** UTC days [from, to) as `YYYY-MM-DD`; every day when not given. */
export interface DayRange {
  from?: string;
  to?: string;
}

const within = (column: string) => `${column} >= coalesce($1::date, '-infinity') AND ${column} < coalesce($2::date, 'infinity')`;
const utcDay = `(occurred_at AT TIME ZONE 'UTC')::date`;

/** The counts the spoke keeps for the days of `range`: per minute and type, per day, type and status, active users per day. */
export async function countsOf(db: Queryable, { from, to }: DayRange = {}): Promise<unknown> {
  const { rows } = await db.query(`
    SELECT json_build_object(
      'minutes', (SELECT json_agg(r ORDER BY r.type, r.bucket) FROM (
        SELECT type, bucket, sum(count)::int AS n FROM counts_minute WHERE ${within(`(bucket AT TIME ZONE 'UTC')::date`)} GROUP BY 1, 2) r),
      'days', (SELECT json_agg(r ORDER BY r.type, r.day, r.status) FROM (
        SELECT type, day, status, sum(count)::int AS n FROM counts_day WHERE ${within('day')} GROUP BY 1, 2, 3) r),
      'active', (SELECT json_agg(r ORDER BY r.day) FROM (
        SELECT day, sum(count)::int AS n FROM active_users_day WHERE ${within('day')} GROUP BY 1) r)) AS s`, [from ?? null, to ?? null]);
  return rows[0].s;
}

/** What `countsOf` would be if every stored event of those days were counted now, from scratch. */
export async function recountOf(db: Queryable, { from, to }: DayRange = {}): Promise<unknown> {
  const { rows } = await db.query(`
    SELECT json_build_object(
      'minutes', (SELECT json_agg(r ORDER BY r.type, r.bucket) FROM (
        SELECT type, date_trunc('minute', occurred_at, 'UTC') AS bucket, count(*)::int AS n FROM events WHERE ${within(utcDay)} GROUP BY 1, 2) r),
      'days', (SELECT json_agg(r ORDER BY r.type, r.day, r.status) FROM (
        SELECT type, ${utcDay} AS day, CASE WHEN type = 'job.finished' THEN data->>'status' ELSE '' END AS status, count(*)::int AS n
        FROM events WHERE ${within(utcDay)} GROUP BY 1, 2, 3) r),
      'active', (SELECT json_agg(r ORDER BY r.day) FROM (
        SELECT ${utcDay} AS day, count(DISTINCT user_id)::int AS n FROM events
        WHERE ${within(utcDay)} AND user_id IS NOT NULL AND type <> 'user.deleted' GROUP BY 1) r)) AS s`, [from ?? null, to ?? null]);
  return rows[0].s;
}
