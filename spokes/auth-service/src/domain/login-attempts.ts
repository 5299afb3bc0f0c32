import { Counter, type Registry } from 'prom-client';

const OUTCOMES = ['success', 'invalid_credentials', 'throttled_account', 'throttled_address'] as const;
export type LoginOutcome = (typeof OUTCOMES)[number];

/**
 * `auth_login_attempts_total{outcome}`: a rise in invalid_credentials or throttled_* is a guessing attack; the
 * throttled_account/throttled_address split shows whether it targets accounts or sprays from a few addresses.
 */
export function loginAttemptCounter(registry: Registry): (outcome: LoginOutcome) => void {
  const attempts = new Counter({
    name: 'auth_login_attempts_total', help: 'Password logins by outcome', labelNames: ['outcome'] as const, registers: [registry],
  });
  // Every series from the start, so rate() sees the first attack too.
  for (const outcome of OUTCOMES) attempts.inc({ outcome }, 0);
  return (outcome) => attempts.inc({ outcome });
}
