import type { Upstream } from './upstream.js';

/**
 * Least outstanding requests over reachable instances the breaker lets through, ties broken at random so idle
 * instances share sequential traffic evenly. Instance sets are small (a handful per spoke), so a full
 * scan is cheaper than keeping a heap in sync.
 */
export function pickUpstream(candidates: readonly Upstream[], exclude: ReadonlySet<string>, now = Date.now()): Upstream | undefined {
  let best: Upstream | undefined;
  let ties = 0;
  for (const upstream of candidates) {
    if (upstream.retired || !upstream.reachable || exclude.has(upstream.key) || !upstream.breaker.available(now)) continue;
    if (!best || upstream.inFlight < best.inFlight) {
      best = upstream;
      ties = 1;
    } else if (upstream.inFlight === best.inFlight && Math.random() * ++ties < 1) {
      best = upstream;
    }
  }
  return best;
}
