import type { Upstream } from './upstream.js';

/**
 * Least outstanding requests over reachable instances the breaker lets through, ties broken at random so idle
 * instances share sequential traffic evenly. An instance that asked for time (503 + Retry-After) comes after every
 * other one until its time is up: quick to answer, it would otherwise draw the most traffic. Instance sets are
 * small (a handful per spoke), so a full scan is cheaper than keeping a heap in sync.
 */
export function pickUpstream(candidates: readonly Upstream[], exclude: ReadonlySet<string>, now = Date.now()): Upstream | undefined {
  let best: Upstream | undefined;
  let ties = 0;
  for (const upstream of candidates) {
    if (upstream.retired || !upstream.reachable || exclude.has(upstream.key) || !upstream.breaker.available(now)) continue;
    const order = best ? compare(upstream, best, now) : -1;
    if (order < 0) {
      best = upstream;
      ties = 1;
    } else if (order === 0 && Math.random() * ++ties < 1) {
      best = upstream;
    }
  }
  return best;
}

function compare(a: Upstream, b: Upstream, now: number): number {
  const deferred = Number(a.deferUntil > now) - Number(b.deferUntil > now);
  return deferred !== 0 ? deferred : a.inFlight - b.inFlight;
}
