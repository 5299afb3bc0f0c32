/**
 * Exponential backoff with jitter before attempt `attempt + 1`: the ceiling doubles from `baseMs` up to
 * `maxMs`, and the delay is drawn between half the ceiling and the ceiling ("equal jitter"), so retries
 * of messages that failed together spread out but never come sooner than half the schedule.
 */
export function retryDelayMs(attempt: number, { baseMs, maxMs }: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
