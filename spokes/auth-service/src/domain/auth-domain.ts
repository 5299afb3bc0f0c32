import type { Logger, Metrics, Pool, RevocationWriter } from '@hubspoke/kit';
import type { AuthConfig } from '../config.js';
import { createAccessTokenSigner } from './access-tokens.js';
import { createAccountLinks } from './account-links.js';
import { createAccounts } from './accounts.js';
import { loginAttemptCounter } from './login-attempts.js';
import { createBackgroundWork } from './background-work.js';
import { createEmailVerification } from './email-verification.js';
import { createLoginThrottle } from './login-throttle.js';
import { createOwnTokenVerifier } from './own-token-verifier.js';
import { createPasswordReset } from './password-reset.js';
import type { PasswordHasher } from './passwords.js';
import { createSessions } from './sessions.js';
import type { KeyRing } from './signing-keys.js';

export interface AuthDomainDeps {
  config: Pick<AuthConfig, 'tokens' | 'throttle' | 'account'>;
  db: Pool;
  keys: KeyRing;
  passwords: PasswordHasher;
  metrics: Metrics;
  revocations: Pick<RevocationWriter, 'revokeToken'>;
  logger: Logger;
}

/** The spoke's flows, wired once for the app and for main's start-up work (first admin, pruning). */
export function createAuthDomain({ config, db, keys, passwords, metrics, revocations, logger }: AuthDomainDeps) {
  const signer = createAccessTokenSigner(keys, config.tokens);
  const sessions = createSessions({ db, signer, revocations, settings: config.tokens, logger });
  const throttle = createLoginThrottle(db, config.throttle);
  const links = createAccountLinks(config.account);
  const background = createBackgroundWork(logger);
  const verification = createEmailVerification({ db, links, logger });
  const passwordReset = createPasswordReset({ db, links, passwords, background, logger });
  const accounts = createAccounts({ db, passwords, sessions, throttle, countLogin: loginAttemptCounter(metrics.registry), verification, logger });
  const verifier = createOwnTokenVerifier(keys, config.tokens);
  return { accounts, sessions, throttle, verification, passwordReset, background, verifier };
}

export type AuthDomain = ReturnType<typeof createAuthDomain>;
