import type { Logger, Pool, RevocationWriter } from '@hubspoke/kit';
import type { AuthConfig } from '../config.js';
import { createAccessTokenSigner } from './access-tokens.js';
import { createAccounts } from './accounts.js';
import { createLoginThrottle } from './login-throttle.js';
import type { PasswordHasher } from './passwords.js';
import { createSessions } from './sessions.js';
import type { KeyRing } from './signing-keys.js';

export interface AuthDomainDeps {
  config: Pick<AuthConfig, 'tokens' | 'throttle'>;
  db: Pool;
  keys: KeyRing;
  passwords: PasswordHasher;
  revocations: Pick<RevocationWriter, 'revokeToken'>;
  logger: Logger;
}

/** The spoke's flows, wired once for the app and for main's start-up work (first admin, pruning). */
export function createAuthDomain({ config, db, keys, passwords, revocations, logger }: AuthDomainDeps) {
  const signer = createAccessTokenSigner(keys, config.tokens);
  const sessions = createSessions({ db, signer, revocations, settings: config.tokens, logger });
  const throttle = createLoginThrottle(db, config.throttle);
  const accounts = createAccounts({ db, passwords, sessions, throttle, logger });
  return { accounts, sessions, throttle };
}

export type AuthDomain = ReturnType<typeof createAuthDomain>;
