/**
 * Sliding-window approximation (two fixed windows): the count "in the last windowMs" is estimated as
 * previous window × the share of it still inside the sliding window + current window. One counter per
 * window, so a check is two GETs and an INCR, yet there is no burst of 2× the limit at window edges.
 * Refused requests are not counted, so a client that backs off gets its quota back as the window slides.
 */

type Scope = 'ip' | 'user' | 'route';

export interface WindowLimit {
  limit: number;
  windowMs: number;
}

/** One limit to check for a request: its counter key and its quota. */
export interface ScopeCheck extends WindowLimit {
  scope: Scope;
  key: string;
}

/** A counter's state at the moment of the check, before this request was counted. */
export interface WindowCounts {
  previous: number;
  current: number;
  elapsedMs: number;
}

/** Everything one request asks the store, answered in one round trip. */
export interface EdgeLookup {
  /** Checked, and counted when every scope allows the request (ip, route). */
  counted: ScopeCheck[];
  /** Checked now, counted later with `count` once the request proves it is theirs (user: after the token verifies). */
  watched: ScopeCheck[];
  /** Plain keys read on the way (revocation entries). */
  reads: string[];
}

/** What a store answers: whether every scope allowed the request (then `counted` were counted), and each read. */
export interface HitResult {
  allowed: boolean;
  /** One per scope: `counted`, then `watched`. */
  counts: WindowCounts[];
  /** One per read key; null when absent (or unknown: the in-memory fallback reads nothing). */
  values: (string | null)[];
}

export interface CounterStore {
  hit(lookup: EdgeLookup): Promise<HitResult> | HitResult;
  count(check: ScopeCheck): Promise<void> | void;
}

interface ScopeOutcome {
  check: ScopeCheck;
  exceeded: boolean;
  remaining: number;
  /** Until the current fixed window ends (the RateLimit-Reset of an allowed request). */
  resetMs: number;
  /** Until this scope would allow one more request; 0 when it is not exceeded. */
  retryAfterMs: number;
}

function estimate({ previous, current, elapsedMs }: WindowCounts, windowMs: number): number {
  return (previous * (windowMs - elapsedMs)) / windowMs + current;
}

/** The Redis script applies the same test (`redis-store.ts`); keep them in step. */
export function wouldExceed(counts: WindowCounts, { limit, windowMs }: WindowLimit): boolean {
  return estimate(counts, windowMs) + 1 > limit;
}

export function describeScope(check: ScopeCheck, counts: WindowCounts, counted: boolean): ScopeOutcome {
  const { limit, windowMs } = check;
  const exceeded = wouldExceed(counts, check);
  const used = estimate(counts, windowMs) + (counted ? 1 : 0);
  return {
    check,
    exceeded,
    remaining: Math.max(0, Math.floor(limit - used)),
    resetMs: windowMs - counts.elapsedMs,
    retryAfterMs: exceeded ? retryAfterMs(counts, check) : 0,
  };
}

/** Solves "estimate + 1 ≤ limit" for the wait, assuming nothing else is counted meanwhile. */
function retryAfterMs({ previous, current, elapsedMs }: WindowCounts, { limit, windowMs }: WindowLimit): number {
  const restOfWindow = windowMs - elapsedMs;
  if (current + 1 > limit) {
    // Not this window: in the next one, this window's count becomes the decaying previous.
    return restOfWindow + Math.max(0, windowMs * (1 - (limit - 1) / current));
  }
  return Math.max(1, restOfWindow - (windowMs * (limit - 1 - current)) / previous);
}

/** The scope a client should be told about: the exceeded one with the longest wait, else the one with least left. */
export function headlineScope(outcomes: ScopeOutcome[]): ScopeOutcome | undefined {
  const exceeded = outcomes.filter((o) => o.exceeded);
  if (exceeded.length > 0) return exceeded.reduce((a, b) => (b.retryAfterMs > a.retryAfterMs ? b : a));
  return outcomes.reduce<ScopeOutcome | undefined>((a, b) => (a === undefined || b.remaining < a.remaining ? b : a), undefined);
}
