import { randomUUID } from 'node:crypto';
import { enqueue, withTransaction, type Logger, type Pool, type Queryable, type Role } from '@hubspoke/kit';
import { createCredentialRepository } from '../data/credential-repository.js';
import { createAccountTokenRepository } from '../data/account-token-repository.js';
import { createRefreshTokenRepository } from '../data/refresh-token-repository.js';
import { invalidCredentials, loginThrottled } from './auth-errors.js';
import type { EmailVerification } from './email-verification.js';
import { userLoggedIn, userRegistered } from './events.js';
import type { LoginOutcome } from './login-attempts.js';
import type { LoginThrottle } from './login-throttle.js';
import type { PasswordHasher } from './passwords.js';
import type { TokenPair } from './refresh-tokens.js';
import type { Sessions } from './sessions.js';
import { toPublicUser, type PublicUser } from './user.js';

export interface Registration {
  email: string;
  password: string;
  name: string;
}

export type SignedIn = TokenPair & { user: PublicUser };

export interface AccountsDeps {
  db: Pool;
  passwords: PasswordHasher;
  sessions: Sessions;
  throttle: LoginThrottle;
  countLogin: (outcome: LoginOutcome) => void;
  verification: Pick<EmailVerification, 'send'>;
  logger: Logger;
}

/** Registration and login; emails arrive trimmed and lower-cased. */
export function createAccounts({ db, passwords, sessions, throttle, countLogin, verification, logger }: AccountsDeps) {
  return {
    /**
     * 409 AUTH.EMAIL_TAKEN for an enabled account's email; the account, its session, user.registered and
     * the verification email's command commit together.
     */
    async register({ email, password, name }: Registration): Promise<SignedIn> {
      // Hashed before the transaction: argon2 takes tens of milliseconds and needs no connection.
      const credential = { userId: randomUUID(), email, name, role: 'user' as Role, passwordHash: await passwords.hash(password), emailVerified: false };
      const user = toPublicUser(credential);
      const pair = await withTransaction(db, async (tx) => {
        await createCredentialRepository(tx).insert(credential);
        const tokens = await sessions.start(tx, credential);
        await enqueue(tx, userRegistered(user));
        await verification.send(tx, credential);
        return tokens;
      });
      logger.info({ userId: user.id }, 'user registered');
      return { user, ...pair };
    },

    /**
     * Unknown email, wrong password and disabled account all cost one argon2 verification and one
     * recorded failure, and end in the same 401. `address` is the client's, as the trusted proxies report it.
     */
    async login({ email, password }: Omit<Registration, 'name'>, address: string): Promise<SignedIn> {
      const block = await throttle.blockFor(email, address);
      if (block) {
        countLogin(`throttled_${block.reason}`);
        logger.info({ reason: block.reason, waitMs: Math.round(block.waitMs) }, 'login throttled');
        throw loginThrottled(block.waitMs / 1000);
      }
      const credential = await createCredentialRepository(db).findActiveByEmail(email);
      const verdict = credential ? await passwords.verify(credential.passwordHash, password) : await passwords.verifyDummy(password).then(() => ({ ok: false, rehash: false }));
      if (!credential || !verdict.ok) {
        await throttle.recordFailure(email, address);
        countLogin('invalid_credentials');
        logger.info({ known: Boolean(credential) }, 'login failed');
        throw invalidCredentials();
      }
      const rehashed = verdict.rehash ? await passwords.hash(password) : undefined;
      const pair = await withTransaction(db, async (tx) => {
        if (rehashed) await createCredentialRepository(tx).updatePasswordHash(credential.userId, rehashed);
        const tokens = await sessions.start(tx, credential);
        await enqueue(tx, userLoggedIn(credential.userId));
        return tokens;
      });
      await throttle.recordSuccess(email, address);
      countLogin('success');
      logger.info({ userId: credential.userId }, 'user logged in');
      return { user: toPublicUser(credential), ...pair };
    },
  };
}

export type Accounts = ReturnType<typeof createAccounts>;

/**
 * After user.deleted: the credentials stop working, every session of the user ends and its emailed links
 * are gone, in the consumer's transaction. Access tokens already issued expire on their own (minutes).
 */
export async function closeAccount(tx: Queryable, userId: string): Promise<{ disabled: boolean; familiesRevoked: number; linksDeleted: number }> {
  const disabled = await createCredentialRepository(tx).disable(userId);
  const familiesRevoked = await createRefreshTokenRepository(tx).revokeAllOfUser(userId, 'user deleted');
  const linksDeleted = await createAccountTokenRepository(tx).deleteAllOf(userId);
  return { disabled, familiesRevoked, linksDeleted };
}
