import { wouldExceed, type CounterStore, type EdgeLookup, type HitResult, type ScopeCheck, type WindowCounts } from './sliding-window.js';

interface Counter {
  index: number;
  windowMs: number;
  current: number;
  previous: number;
}

// Far above the distinct clients one hub replica sees in a window during an outage.
const MAX_KEYS = 50_000;

/**
 * The per-process fallback used while Redis is down: same algorithm, counters in a Map. Bounded: past
 * MAX_KEYS it drops expired counters, then the least recently counted ones (a spoofed-address flood
 * must not grow memory; losing a counter only forgets a client's recent count).
 */
export function createMemoryStore(): CounterStore {
  const counters = new Map<string, Counter>();

  const countsAt = (check: ScopeCheck, at: number): WindowCounts => {
    const index = Math.floor(at / check.windowMs);
    const elapsedMs = at - index * check.windowMs;
    const counter = counters.get(check.key);
    if (counter?.index === index) return { previous: counter.previous, current: counter.current, elapsedMs };
    if (counter?.index === index - 1) return { previous: counter.current, current: 0, elapsedMs };
    return { previous: 0, current: 0, elapsedMs };
  };

  const evict = (at: number) => {
    for (const [key, counter] of counters) {
      if (at >= (counter.index + 2) * counter.windowMs) counters.delete(key);
    }
    // Map order is insertion order and a counted key is re-inserted, so the first keys are the stalest.
    const target = Math.floor(MAX_KEYS * 0.9);
    for (const key of counters.keys()) {
      if (counters.size <= target) break;
      counters.delete(key);
    }
  };

  const increment = (check: ScopeCheck, { previous, current }: WindowCounts, at: number) => {
    counters.delete(check.key);
    counters.set(check.key, { index: Math.floor(at / check.windowMs), windowMs: check.windowMs, previous, current: current + 1 });
    if (counters.size > MAX_KEYS) evict(at);
  };

  return {
    // Revocation entries live only in Redis: while it is down they are unknown (null), and tokens pass.
    hit({ counted, watched, reads }: EdgeLookup): HitResult {
      const at = Date.now();
      const checks = [...counted, ...watched];
      const counts = checks.map((check) => countsAt(check, at));
      const allowed = checks.every((check, i) => !wouldExceed(counts[i] as WindowCounts, check));
      if (allowed) counted.forEach((check, i) => increment(check, counts[i] as WindowCounts, at));
      return { allowed, counts, values: reads.map(() => null) };
    },
    count(check) {
      const at = Date.now();
      increment(check, countsAt(check, at), at);
    },
  };
}
