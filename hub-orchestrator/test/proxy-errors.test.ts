import { describe, expect, test } from 'vitest';
import { ATTEMPT_TIMEOUT, CONNECT_TIMEOUT } from '../src/routing/attempt-timers.js';
import { classifyUpstreamError, isRetryable } from '../src/routing/proxy-errors.js';

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
