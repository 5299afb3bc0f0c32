import { describe, expect, test } from 'vitest';
import { createBreaker, type BreakerOptions, type BreakerState } from '../src/routing/breaker.js';

const OPTIONS: BreakerOptions = { consecutiveFailures: 3, failureRatio: 0.5, minRequests: 10, windowMs: 10_000, coolDownMs: 1_000 };

function breaker(options: Partial<BreakerOptions> = {}) {
  const changes: string[] = [];
  const b = createBreaker({ ...OPTIONS, ...options }, (from: BreakerState, to: BreakerState) => changes.push(`${from}->${to}`));
  return { b, changes };
}

describe('circuit breaker', () => {
  test('when failures come in a row, then it opens at the threshold and refuses until the cool-down', () => {
    const { b, changes } = breaker();
    b.failure(0);
    b.failure(1);
    expect(b.state()).toBe('closed');
    b.failure(2);
    expect(changes).toEqual(['closed->open']);
    expect(b.available(500)).toBe(false);
    expect(b.retryInMs(500)).toBe(502);
    expect(b.available(1_002)).toBe(true);
  });

  test('when a success breaks the run, then consecutive failures start again', () => {
    const { b } = breaker();
    b.failure(0);
    b.failure(1);
    b.success(2);
    b.failure(2);
    b.failure(3);
    expect(b.state()).toBe('closed');
  });

  test('when failures reach the ratio over enough requests in the window, then it opens without a run', () => {
    const { b } = breaker({ consecutiveFailures: 100 });
    for (let i = 0; i < 9; i++) {
      if (i % 2) b.failure(i);
      else b.success(i);
    }
    expect(b.state()).toBe('closed'); // 4 of 9: under minRequests and under the ratio
    b.failure(10);
    expect(b.state()).toBe('open'); // 5 of 10
  });

  test('when half-open, then exactly one probe goes out; success closes, failure opens again', () => {
    const { b, changes } = breaker();
    for (let i = 0; i < 3; i++) b.failure(0);
    b.onPicked(1_000);
    expect(b.state()).toBe('half-open');
    expect(b.available(1_000)).toBe(false);
    b.failure(1_100);
    expect(b.state()).toBe('open');
    expect(b.available(1_500)).toBe(false);
    b.onPicked(2_100);
    b.success(2_200);
    expect(b.state()).toBe('closed');
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->open', 'open->half-open', 'half-open->closed']);
  });

  test('when the probe is abandoned (client left), then another request may probe', () => {
    const { b } = breaker();
    for (let i = 0; i < 3; i++) b.failure(0);
    b.onPicked(1_000);
    b.abandoned();
    expect(b.available(1_000)).toBe(true);
  });
});
