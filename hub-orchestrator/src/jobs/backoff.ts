/**
 * Exponential backoff with full jitter: a random delay between 0 and min(max, base · 2^(failures-1)), so
 * items that failed together (a spoke restart) do not all come back at the same moment.
 */
export function backoffDelayMs(failures: number, { backoffMs, maxBackoffMs }: { backoffMs: number; maxBackoffMs: number }, random = Math.random): number {
  const ceiling = Math.min(maxBackoffMs, backoffMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
  return Math.floor(random() * ceiling);
}
