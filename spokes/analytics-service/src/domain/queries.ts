import { decodeCursor, encodeCursor } from '@hubspoke/kit';
import type { Pool } from '@hubspoke/kit';
import { createActivityRepository } from '../data/activity-repository.js';
import { createRollupRepository, type Interval } from '../data/rollup-repository.js';
import { invalidCursor, invalidRange, rangeNotRetained, rangeTooLarge } from './analytics-errors.js';
import { alignRange, MAX_BUCKETS } from './range.js';
import { JOB_TYPE_PREFIX, REPORT_TYPES } from './report-types.js';
import { retentionWindow } from './retention-window.js';
import { daysBetween, dayString } from './utc-day.js';

export interface DaySummary {
  day: string;
  signups: number;
  logins: number;
  activeUsers: number;
  notifications: { sent: number; failed: number };
  /** Count per job status: `job.created` → `created`, `job.finished` → `finished`. */
  jobs: Record<string, number>;
}

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
        days: rows.map(({ day, activeUsers, counts }) => ({
          day,
          signups: counts[REPORT_TYPES.signup] ?? 0,
          logins: counts[REPORT_TYPES.login] ?? 0,
          activeUsers,
          notifications: { sent: counts[REPORT_TYPES.notificationSent] ?? 0, failed: counts[REPORT_TYPES.notificationFailed] ?? 0 },
          jobs: Object.fromEntries(Object.entries(counts)
            .filter(([type]) => type.startsWith(JOB_TYPE_PREFIX))
            .map(([type, count]) => [type.slice(JOB_TYPE_PREFIX.length), count])),
        })),
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
