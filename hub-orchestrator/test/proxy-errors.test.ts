import { describe, expect, test } from 'vitest';
import { ATTEMPT_TIMEOUT } from '../src/routing/forward.js';
import { classifyUpstreamError, CONNECT_TIMEOUT, deferralOf, isRetryable, MAX_DEFER_MS } from '../src/routing/proxy-errors.js';

describe('which failed attempts the hub retries', () => {
  test('when the method is idempotent and no body is in flight, then it may be retried', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']) expect(isRetryable(method, {}), method).toBe(true);
    expect(isRetryable('DELETE', { 'content-length': '0' })).toBe(true);
  });

  test('when the method is not idempotent or a body was streamed, then it is never retried', () => {
    expect(isRetryable('POST', {})).toBe(false);
    expect(isRetryable('PATCH', {})).toBe(false);
    expect(isRetryable('PUT', { 'content-length': '12' })).toBe(false);
    expect(isRetryable('GET', { 'transfer-encoding': 'chunked' })).toBe(false);
  });

  test('when a connection is refused it counts as refused; a broken one as reset', () => {
    expect(classifyUpstreamError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('refused');
    expect(classifyUpstreamError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('reset');
    expect(classifyUpstreamError(new Error('no code'))).toBe('reset');
  });

  test('when the hub\'s own connect timeout fires it counts as refused (the instance leaves routing); its attempt timeout as timeout', () => {
    expect(classifyUpstreamError(Object.assign(new Error('x'), { code: CONNECT_TIMEOUT }))).toBe('refused');
    expect(classifyUpstreamError(Object.assign(new Error('x'), { code: ATTEMPT_TIMEOUT }))).toBe('timeout');
  });
});

describe('which responses ask the hub for time rather than count as failures', () => {
  test('when a 503 carries Retry-After in seconds or as a date, then it defers the instance that long, capped', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(deferralOf(503, '1', now)).toBe(1000);
    expect(deferralOf(503, ' 2 ', now)).toBe(2000);
    expect(deferralOf(503, 'Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(deferralOf(503, 'Wed, 31 Dec 2025 23:59:00 GMT', now)).toBe(0);
    expect(deferralOf(503, '3600', now)).toBe(MAX_DEFER_MS);
  });

  test('when a 5xx has no usable Retry-After, or is not a 503, then it is no deferral (the breaker counts it)', () => {
    expect(deferralOf(503, undefined)).toBeUndefined();
    expect(deferralOf(503, 'soon')).toBeUndefined();
    expect(deferralOf(503, ['1', '2'])).toBeUndefined();
    expect(deferralOf(500, '1')).toBeUndefined();
    expect(deferralOf(502, '1')).toBeUndefined();
    expect(deferralOf(200, '1')).toBeUndefined();
  });
});
