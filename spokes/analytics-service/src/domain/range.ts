import type { Interval } from '../data/rollup-repository.js';
import { invalidRange, rangeTooLarge } from './analytics-errors.js';

/** The most buckets one query answers per interval: a day of minutes, a month of hours, a leap year of days. */
export const MAX_BUCKETS: Record<Interval, number> = { minute: 1440, hour: 744, day: 366 };

const INTERVAL_MS: Record<Interval, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** [from, to) widened to whole buckets (UTC), or a 400 when empty or past the interval's cap. */
export function alignRange(from: Date, to: Date, interval: Interval): { from: Date; to: Date; buckets: number } {
  if (from >= to) throw invalidRange();
  const step = INTERVAL_MS[interval];
  const start = Math.floor(from.getTime() / step) * step;
  const end = Math.ceil(to.getTime() / step) * step;
  const buckets = (end - start) / step;
  if (buckets > MAX_BUCKETS[interval]) throw rangeTooLarge(MAX_BUCKETS[interval], interval);
  return { from: new Date(start), to: new Date(end), buckets };
}
