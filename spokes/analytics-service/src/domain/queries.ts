import { decodeCursor, encodeCursor } from '@hubspoke/kit';
import type { Pool } from '@hubspoke/kit';
import { createActivityRepository } from '../data/activity-repository.js';
import { createRollupRepository, type Interval, type TypeCount } from '../data/rollup-repository.js';
import { invalidCursor, invalidRange, rangeNotRetained, rangeTooLarge } from './analytics-errors.js';
import { alignRange, MAX_BUCKETS } from './range.js';
import { JOB_STATUSES, REPORT_TYPES } from './report-types.js';
import { retentionWindow } from './retention-window.js';
import { daysBetween, dayString } from './utc-day.js';

export interface DaySummary {
  day: string;
  signups: number;
  logins: number;
  activeUsers: number;
  notifications: { sent: number; failed: number };
  jobs: JobCounts;
}

/** Jobs created that day, and jobs finished that day by the `status` their job.finished carries. */
export type JobCounts = Record<'created' | (typeof JOB_STATUSES)[number], number>;

/** What the routes ask: every answer comes from the counts (or, for one user's activity, their own events). */
export function createQueries({ db, retentionDays }: { db: Pool; retentionDays: number }) {
  const rollups = createRollupRepository(db);
  return {
    async metrics({ type, interval, from, to }: { type: string; interval: Interval; from: Date; to: Date }) {
      const range = alignRange(from, to, interval);
      const window = retentionWindow(new Date(), retentionDays);
      // Minute counts go with the events; only daily counts outlive the retention.
      if (interval !== 'day' && range.from < window.from) throw rangeNotRetained(dayString(window.from));
      const buckets = await rollups.series(type, interval, range.from, range.to);
      return {
        type, interval, from: range.from.toISOString(), to: range.to.toISOString(),
        total: buckets.reduce((sum, b) => sum + b.count, 0),
        buckets: buckets.map((b) => ({ start: b.start.toISOString(), count: b.count })),
      };
    },

    /** Per UTC day of [from, to], both dates inclusive. */
    async summary({ from, to }: { from: string; to: string }): Promise<{ from: string; to: string; days: DaySummary[] }> {
      const days = daysBetween(new Date(`${from}T00:00:00Z`), new Date(`${to}T00:00:00Z`)) + 1;
      if (days < 1) throw invalidRange();
      if (days > MAX_BUCKETS.day) throw rangeTooLarge(MAX_BUCKETS.day, 'day');
      const rows = await rollups.summary(from, to, Object.values(REPORT_TYPES));
      return {
        from, to,
        days: rows.map(({ day, activeUsers, counts }) => {
          const total = (type: string) => counts.reduce((sum, c) => (c.type === type ? sum + c.count : sum), 0);
          return {
            day,
            signups: total(REPORT_TYPES.signup),
            logins: total(REPORT_TYPES.login),
            activeUsers,
            notifications: { sent: total(REPORT_TYPES.notificationSent), failed: total(REPORT_TYPES.notificationFailed) },
            jobs: jobCounts(counts),
          };
        }),
      };
    },

    async activity(userId: string, { cursor, limit }: { cursor?: string; limit: number }) {
      const before = cursor === undefined ? undefined : decodeCursor(cursor, invalidCursor);
      const rows = await createActivityRepository(db).listByUser(userId, { before, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        events: page.map((row) => ({
          id: row.id, type: row.type, version: row.version, source: row.source, occurredAt: row.occurredAt.toISOString(), data: row.data,
        })),
        nextCursor: rows.length > limit && last ? encodeCursor(last.position) : null,
      };
    },
  };
}

export type Queries = ReturnType<typeof createQueries>;

/**
 * A job.finished counted before its status was (migrations/0002_count_job_status.sql) has status '': it is
 * in the job.finished series but under no status here, as its status is not known.
 */
function jobCounts(counts: readonly TypeCount[]): JobCounts {
  const jobs = Object.fromEntries(['created', ...JOB_STATUSES].map((key) => [key, 0])) as JobCounts;
  for (const { type, status, count } of counts) {
    if (type === REPORT_TYPES.jobCreated) jobs.created += count;
    else if (type === REPORT_TYPES.jobFinished && (JOB_STATUSES as readonly string[]).includes(status)) jobs[status as keyof JobCounts] += count;
  }
  return jobs;
}
