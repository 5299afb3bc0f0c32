/** Numeric values are what `hub_breaker_state` exports: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATES = { closed: 0, 'half-open': 1, open: 2 } as const;
export type BreakerState = keyof typeof BREAKER_STATES;

export interface BreakerOptions {
  /** Opens after this many failures in a row. */
  consecutiveFailures: number;
  /** Also opens when failures/total over the window reach this ratio… */
  failureRatio: number;
  /** …with at least this many requests in the window, so two failures of three don't trip it. */
  minRequests: number;
  windowMs: number;
  /** Open → half-open after this long; the next request is the single probe. */
  coolDownMs: number;
}

export interface Breaker {
  state: () => BreakerState;
  /** Whether a new request may go to this instance now (closed, or a probe is due). */
  available: (now?: number) => boolean;
  /** Called when this instance was picked: an open breaker past its cool-down sends its one probe. */
  onPicked: (now?: number) => void;
  success: (now?: number) => void;
  failure: (now?: number) => void;
  /** A picked request ended with no verdict (client went away): free the probe slot. */
  abandoned: () => void;
  /** ms until a probe is allowed (0 unless open). */
  retryInMs: (now?: number) => number;
}

const BUCKETS = 10;

/**
 * A per-instance circuit breaker. Counting is passive (real traffic only) in a ring of time buckets,
 * so a busy instance costs O(1) per request and memory stays fixed.
 */
export function createBreaker(options: BreakerOptions, onChange: (from: BreakerState, to: BreakerState) => void): Breaker {
  let state: BreakerState = 'closed';
  let openedAt = 0;
  let consecutive = 0;
  let probeInFlight = false;
  const bucketMs = Math.max(1, Math.floor(options.windowMs / BUCKETS));
  const buckets = Array.from({ length: BUCKETS }, () => ({ start: 0, ok: 0, failed: 0 }));

  const move = (to: BreakerState, now: number) => {
    if (to === state) return;
    const from = state;
    state = to;
    if (to === 'open') openedAt = now;
    if (to !== 'half-open') probeInFlight = false;
    if (to === 'closed') {
      consecutive = 0;
      for (const b of buckets) Object.assign(b, { start: 0, ok: 0, failed: 0 });
    }
    onChange(from, to);
  };

  const bucket = (now: number) => {
    const start = now - (now % bucketMs);
    const b = buckets[Math.floor(start / bucketMs) % BUCKETS]!;
    if (b.start !== start) Object.assign(b, { start, ok: 0, failed: 0 });
    return b;
  };

  const ratioTripped = (now: number) => {
    let ok = 0;
    let failed = 0;
    for (const b of buckets) {
      if (now - b.start < options.windowMs) {
        ok += b.ok;
        failed += b.failed;
      }
    }
    const total = ok + failed;
    return total >= options.minRequests && failed / total >= options.failureRatio;
  };

  const coolDownOver = (now: number) => now - openedAt >= options.coolDownMs;

  return {
    state: () => state,
    available: (now = Date.now()) =>
      state === 'closed' || (state === 'open' && coolDownOver(now)) || (state === 'half-open' && !probeInFlight),
    onPicked(now = Date.now()) {
      if (state === 'open' && coolDownOver(now)) move('half-open', now);
      if (state === 'half-open') probeInFlight = true;
    },
    success(now = Date.now()) {
      if (state === 'half-open') return move('closed', now);
      consecutive = 0;
      bucket(now).ok++;
    },
    failure(now = Date.now()) {
      if (state === 'half-open') return move('open', now);
      if (state === 'open') return;
      consecutive++;
      bucket(now).failed++;
      if (consecutive >= options.consecutiveFailures || ratioTripped(now)) move('open', now);
    },
    abandoned() {
      if (state === 'half-open') probeInFlight = false;
    },
    retryInMs: (now = Date.now()) => (state === 'open' ? Math.max(0, options.coolDownMs - (now - openedAt)) : 0),
  };
}
