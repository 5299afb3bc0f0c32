import type { Queryable } from '@hubspoke/kit';
import { createRollupRepository } from '../data/rollup-repository.js';
import { rangeNotRetained } from './analytics-errors.js';
import { alignRange } from './range.js';
import { retentionWindow } from './retention-window.js';
import { dayString } from './utc-day.js';

export interface RebuiltRange {
  /** First day recounted and the day after the last (`YYYY-MM-DD`, UTC). */
  from: string;
  to: string;
  days: number;
  events: number;
}

/**
 * Recounts [from, to), widened to whole UTC days, from the stored events, in the caller's transaction: a
 * recount, so running it again (a redelivered or retried chunk) gives the same counts. At most 366 days, as
 * for a daily series; the hub task `analytics.aggregate` runs a long range as many such chunks in parallel.
 * Days before the retention have no events left to count from: asking for them is refused rather than
 * zeroing their daily counts.
 */
export async function rebuildRollups(tx: Queryable, { from, to, retentionDays, now = new Date() }: {
  from: Date; to: Date; retentionDays: number; now?: Date;
}): Promise<RebuiltRange> {
  const range = alignRange(from, to, 'day');
  const window = retentionWindow(now, retentionDays);
  if (range.from < window.from) throw rangeNotRetained(dayString(window.from));
  const events = await createRollupRepository(tx).rebuild(range.from, range.to);
  return { from: dayString(range.from), to: dayString(range.to), days: range.buckets, events };
}
