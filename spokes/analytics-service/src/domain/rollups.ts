import { withTransaction, type Logger, type Pool } from '@hubspoke/kit';
import { createRollupRepository } from '../data/rollup-repository.js';
import { rangeNotRetained } from './analytics-errors.js';
import { retentionWindow } from './retention-window.js';
import { addDays, dayString, startOfUtcDay } from './utc-day.js';

/**
 * Rebuilds the counts of [from, to), widened to whole UTC days, from the stored events: one day per
 * transaction, `parallel` days at a time, so a long range never holds one long transaction. This is what
 * the hub task `analytics.aggregate` will call once the spoke serves tasks. Days before the retention
 * have no events left to count from: asking for them is refused rather than zeroing their daily counts.
 */
export async function rebuildRollups({ db, logger, retentionDays, from, to, parallel = 2, now = new Date() }: {
  db: Pool; logger: Logger; retentionDays: number; from: Date; to: Date; parallel?: number; now?: Date;
}): Promise<{ days: number; events: number }> {
  const first = startOfUtcDay(from);
  const end = startOfUtcDay(to).getTime() === to.getTime() ? to : addDays(startOfUtcDay(to), 1);
  const window = retentionWindow(now, retentionDays);
  if (first < window.from) throw rangeNotRetained(dayString(window.from));
  const days: Date[] = [];
  for (let day = first; day < end; day = addDays(day, 1)) days.push(day);
  let events = 0;
  for (let next = 0; next < days.length; next += parallel) {
    const counted = await Promise.all(days.slice(next, next + parallel).map((day) =>
      withTransaction(db, (tx) => createRollupRepository(tx).rebuild(day, addDays(day, 1)))));
    events += counted.reduce((sum, n) => sum + n, 0);
  }
  logger.info({ from: dayString(first), to: dayString(end), days: days.length, events }, 'rollups rebuilt');
  return { days: days.length, events };
}
