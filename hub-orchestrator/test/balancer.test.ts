import { describe, expect, test } from 'vitest';
import { pickUpstream } from '../src/routing/balancer.js';
import { createBreaker } from '../src/routing/breaker.js';
import type { Upstream } from '../src/routing/upstream.js';

const NOW = 1_000_000;

function upstream(key: string, { inFlight = 0, deferUntil = 0 } = {}): Upstream {
  const breaker = createBreaker({ consecutiveFailures: 5, failureRatio: 0.5, minRequests: 20, windowMs: 10_000, coolDownMs: 5_000 }, () => undefined);
  return { key, inFlight, deferUntil, breaker, retired: false, reachable: true, lastAnswerAt: 0 } as unknown as Upstream;
}

const picks = (candidates: Upstream[], times = 200) => {
  const counts: Record<string, number> = {};
  for (let n = 0; n < times; n++) {
    const picked = pickUpstream(candidates, new Set(), NOW)?.key ?? 'none';
    counts[picked] = (counts[picked] ?? 0) + 1;
  }
  return counts;
};

describe('picking an instance', () => {
  test('when idle instances tie, then each gets a share', () => {
    const counts = picks([upstream('a'), upstream('b'), upstream('c')]);
    expect(Object.keys(counts).sort()).toEqual(['a', 'b', 'c']);
  });

  test('when one instance asked for time (503 + Retry-After) and its time is not up, then it comes after every other, even a busier one', () => {
    expect(picks([upstream('asking', { deferUntil: NOW + 1 }), upstream('busy', { inFlight: 7 })])).toEqual({ busy: 200 });
  });

  test('when every instance asked for time, then the least loaded of them still gets the request (no hub-made outage)', () => {
    expect(picks([upstream('a', { deferUntil: NOW + 500, inFlight: 2 }), upstream('b', { deferUntil: NOW + 900 })])).toEqual({ b: 200 });
  });

  test('when its time is up, then it is an instance like any other', () => {
    expect(picks([upstream('was-asking', { deferUntil: NOW }), upstream('busy', { inFlight: 1 })])).toEqual({ 'was-asking': 200 });
  });
});
