import type { UpstreamErrorKind } from '../hub-metrics.js';
import { ATTEMPT_TIMEOUT, CONNECT_TIMEOUT } from './attempt-timers.js';

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
