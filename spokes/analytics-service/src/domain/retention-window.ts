import { addDays, startOfUtcDay } from './utc-day.js';

/** Day partitions created past today, so midnight (and a producer's clock a little ahead) never finds none. */
export const PARTITION_DAYS_AHEAD = 7;

/**
 * The days events can be stored in: from `retentionDays` before today (older partitions are dropped) to the
 * last partition created ahead (exclusive). An event outside it has no partition to go to.
 */
export interface RetentionWindow {
  /** Start of the oldest day kept. */
  from: Date;
  /** End of the last day with a partition. */
  to: Date;
}

export function retentionWindow(now: Date, retentionDays: number): RetentionWindow {
  const today = startOfUtcDay(now);
  return { from: addDays(today, -retentionDays), to: addDays(today, PARTITION_DAYS_AHEAD + 1) };
}
