import type { UpstreamErrorKind } from '../hub-metrics.js';
import { ATTEMPT_TIMEOUT } from './forward.js';

/** The pool's connect timeout (forward.ts): the instance did not accept a connection in time. */
export const CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';
const REFUSED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', CONNECT_TIMEOUT]);

/**
 * Connect-phase failures are "refused"; an attempt past its own timeout is "timeout"; a connection that
 * broke (reset, hang-up, parse error) is "reset".
 */
export function classifyUpstreamError(error: unknown): Exclude<UpstreamErrorKind, '5xx'> {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === ATTEMPT_TIMEOUT) return 'timeout';
  return typeof code === 'string' && REFUSED.has(code) ? 'refused' : 'reset';
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * Safe to send again: an idempotent method with no request body, which the first attempt has consumed
 * and the hub does not buffer (no body parsing on the proxy path).
 */
export function isRetryable(method: string | undefined, headers: Record<string, unknown>): boolean {
  if (!method || !IDEMPOTENT.has(method)) return false;
  const length = headers['content-length'];
  return headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}

/** Longest an instance's Retry-After keeps it behind the others: a long one must not sideline it for good. */
export const MAX_DEFER_MS = 10_000;

/**
 * A 503 carrying Retry-After, as ms to wait (capped): the instance itself answering "not now" at once and on
 * purpose, typically because a dependency every instance shares (its database) is restarting. Undefined for any
 * other response, and for a 503 without a usable Retry-After (seconds or an HTTP date).
 */
export function deferralOf(status: number, retryAfter: string | string[] | undefined, now = Date.now()): number | undefined {
  if (status !== 503 || typeof retryAfter !== 'string') return undefined;
  const value = retryAfter.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isNaN(ms) ? undefined : Math.min(MAX_DEFER_MS, Math.max(0, ms));
}
