/** UTC calendar days as `YYYY-MM-DD`: partitions, daily counts and reports all cut days at UTC midnight. */

const DAY_MS = 86_400_000;

export function startOfUtcDay(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

export function addDays(day: Date, days: number): Date {
  return new Date(day.getTime() + days * DAY_MS);
}

export function dayString(day: Date): string {
  return day.toISOString().slice(0, 10);
}

export function daysBetween(from: Date, to: Date): number {
  return Math.round((to.getTime() - from.getTime()) / DAY_MS);
}

/** Whole days since 1970-01-01 (UTC): a day's number, as its lock key uses it. */
export function epochDay(at: Date): number {
  return Math.floor(at.getTime() / DAY_MS);
}
