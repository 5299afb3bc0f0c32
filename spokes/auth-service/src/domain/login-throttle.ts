import type { Pool } from '@hubspoke/kit';
import type { ThrottleSettings } from '../config.js';
import { createLoginFailureRepository, type ThrottleScope } from '../data/login-failure-repository.js';
import { loginThrottled } from './auth-errors.js';

export interface LoginThrottle {
  /** Throws 429 with Retry-After while the account or the client IP has too many recent failures. */
  assertAllowed: (email: string, ip: string) => Promise<void>;
  recordFailure: (email: string, ip: string) => Promise<void>;
  recordSuccess: (email: string) => Promise<void>;
  prune: () => Promise<number>;
}

/**
 * A sliding window of failed logins per account (the normalised email, known or not, so the throttle
 * says nothing about which accounts exist) and per client IP, kept in the auth database: every replica
 * sees the same counts and no other store has to be up for logins to be safe. It is checked before the
 * password, so a throttled caller learns nothing about guesses, and it costs no argon2 time.
 * Concurrent failures may overshoot a limit by the number of requests in flight, no more.
 */
export function createLoginThrottle(db: Pool, settings: ThrottleSettings): LoginThrottle {
  const failures = createLoginFailureRepository(db);
  const subjects = (email: string, ip: string) =>
    [{ scope: 'account' as ThrottleScope, subject: email, limit: settings.maxFailuresPerAccount }]
      .concat(ip ? [{ scope: 'ip', subject: ip, limit: settings.maxFailuresPerIp }] : []);

  return {
    async assertAllowed(email, ip) {
      const waits = await Promise.all(
        subjects(email, ip).map(({ scope, subject, limit }) => failures.blockedForMs(scope, subject, limit, settings.windowMs)));
      const waitMs = Math.max(...waits);
      if (waitMs > 0) throw loginThrottled(waitMs / 1000);
    },
    recordFailure: (email, ip) => failures.record(subjects(email, ip)),
    // The account's own count resets; the IP's does not, or one valid login would hide a spray.
    recordSuccess: (email) => failures.clear('account', email),
    prune: () => failures.deleteOlderThan(settings.windowMs),
  };
}
