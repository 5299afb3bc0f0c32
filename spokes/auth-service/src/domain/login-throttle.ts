import type { Pool } from '@hubspoke/kit';
import type { ThrottleSettings } from '../config.js';
import { createLoginFailureRepository } from '../data/login-failure-repository.js';

export interface LoginBlock {
  /** `account`: this address failed this account too often; `address`: this address failed too often over every account. */
  reason: 'account' | 'address';
  waitMs: number;
}

export interface LoginThrottle {
  /** Why and for how long a login of `email` from `address` must wait now, or undefined when it may go ahead. */
  blockFor: (email: string, address: string) => Promise<LoginBlock | undefined>;
  recordFailure: (email: string, address: string) => Promise<void>;
  recordSuccess: (email: string, address: string) => Promise<void>;
  prune: () => Promise<number>;
}

/**
 * Failed logins counted per (account, client address), with delays that double after a few free failures, plus
 * one budget per address over every account (a password spray). An attacker elsewhere can slow only their own
 * guesses: the owner, from their own address, logs in at once. The account is the normalised email, known or
 * not, so the throttle says nothing about which accounts exist. Kept in the auth database, so every replica sees
 * the same counts; checked before the password, so a throttled caller learns nothing and costs no argon2 time.
 * Concurrent failures may overshoot by the number of requests in flight, no more.
 */
export function createLoginThrottle(db: Pool, settings: ThrottleSettings): LoginThrottle {
  const failures = createLoginFailureRepository(db);

  /** After `count` failures in the window: the first `freeFailures` cost nothing, then firstDelay, twice that, ... up to the window. */
  const delayAfter = (count: number) =>
    count < settings.freeFailures ? 0 : Math.min(settings.windowMs, settings.firstDelayMs * 2 ** (count - settings.freeFailures));

  return {
    async blockFor(email, address) {
      const [pair, addressWaitMs] = await Promise.all([
        failures.ofPair(email, address, settings.windowMs),
        failures.addressBlockedForMs(address, settings.maxFailuresPerAddress, settings.windowMs),
      ]);
      const pairWaitMs = delayAfter(pair.count) - pair.sinceLastMs;
      if (addressWaitMs > 0 && addressWaitMs >= pairWaitMs) return { reason: 'address', waitMs: addressWaitMs };
      if (pairWaitMs > 0) return { reason: 'account', waitMs: pairWaitMs };
      return undefined;
    },
    recordFailure: (email, address) => failures.record(email, address),
    // The pair's count resets; the address's budget does not, or one valid login would hide a spray.
    recordSuccess: (email, address) => failures.clearPair(email, address),
    prune: () => failures.deleteOlderThan(settings.windowMs),
  };
}
