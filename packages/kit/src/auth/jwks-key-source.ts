import { outgoingHttpHeaders } from '../context.js';
import type { Logger } from '../logger.js';
import { signingKeysUnavailable } from './auth-errors.js';
import { importJwks, type KeySource, type VerificationKey } from './key-source.js';

export interface JwksKeySourceOptions {
  /** The auth spoke's JWKS, e.g. http://auth-service:3001/.well-known/jwks.json */
  url: string;
  /** An unknown kid refetches at most this often, so a flood of made-up kids can't hammer the auth spoke. */
  minRefreshIntervalMs?: number;
  /** Known keys are refreshed in the background after this long, so a withdrawn key stops verifying. */
  maxAgeMs?: number;
  timeoutMs?: number;
  logger?: Logger;
  /** The clock the intervals and max age are measured on: tests pass their own to step past them. */
  now?: () => number;
}

/**
 * Public keys from the auth spoke's JWKS, parsed once per fetch and cached by kid. A failed fetch keeps
 * the keys already known, so tokens signed with them still verify while the auth spoke is down.
 * The auth spoke must publish a new key before signing with it: a kid seen within
 * `minRefreshIntervalMs` of the last fetch is unknown until the next one.
 */
export function createJwksKeySource({
  url, minRefreshIntervalMs = 5_000, maxAgeMs = 300_000, timeoutMs = 2_000, logger, now = Date.now,
}: JwksKeySourceOptions): KeySource {
  let keys = new Map<string, VerificationKey>();
  let loadedAt = -Infinity;
  let attemptedAt = -Infinity;
  let lastAttemptFailed = false;
  let inFlight: Promise<void> | undefined;

  // Concurrent callers share one fetch; the interval counts from its start.
  function refresh(): Promise<void> {
    if (inFlight) return inFlight;
    if (now() - attemptedAt < minRefreshIntervalMs) return Promise.resolve();
    attemptedAt = now();
    inFlight = fetchJwks(url, timeoutMs)
      .then(
        (fresh) => {
          keys = fresh;
          loadedAt = now();
          lastAttemptFailed = false;
        },
        (error: unknown) => {
          lastAttemptFailed = true;
          logger?.warn({ err: error, url }, 'jwks refresh failed; keeping the keys already known');
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  }

  return {
    async getKey(kid) {
      const known = keys.get(kid);
      if (known) {
        if (now() - loadedAt >= maxAgeMs) void refresh();
        return known;
      }
      await refresh();
      const found = keys.get(kid);
      // Without the key set we can neither accept nor refuse the token: that is our outage, not a bad token.
      if (!found && lastAttemptFailed) throw signingKeysUnavailable();
      return found;
    },
  };
}

async function fetchJwks(url: string, timeoutMs: number): Promise<Map<string, VerificationKey>> {
  const response = await fetch(url, {
    headers: { accept: 'application/json', ...outgoingHttpHeaders() },
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`JWKS request answered ${response.status}`);
  }
  return importJwks(await response.json());
}
