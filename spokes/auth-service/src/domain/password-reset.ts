import { withTransaction, type Logger, type Pool } from '@hubspoke/kit';
import { createCredentialRepository } from '../data/credential-repository.js';
import { createRefreshTokenRepository } from '../data/refresh-token-repository.js';
import type { AccountLinks } from './account-links.js';
import type { BackgroundWork } from './background-work.js';
import { enqueueAccountEmail } from './events.js';
import type { PasswordHasher } from './passwords.js';

export interface PasswordResetDeps {
  db: Pool;
  links: AccountLinks;
  passwords: PasswordHasher;
  background: BackgroundWork;
  logger: Logger;
}

/** "Forgot my password": a link to the account's address, then a new password that ends every session. */
export function createPasswordReset({ db, links, passwords, background, logger }: PasswordResetDeps) {
  async function sendLink(email: string): Promise<void> {
    const account = await createCredentialRepository(db).findActiveByEmail(email);
    // Never the address in the log: it may belong to nobody, or be someone probing.
    if (!account) return void logger.info('password reset not sent: no enabled account has the email');
    const sent = await withTransaction(db, async (tx) => {
      const issued = await links.issue(tx, account, 'reset_password');
      if ('retryAfterMs' in issued) return false;
      await enqueueAccountEmail(tx, { template: 'password-reset', userId: account.userId, email: account.email, name: account.name, ...issued });
      return true;
    });
    if (sent) logger.info({ userId: account.userId }, 'password reset link sent');
    else logger.info({ userId: account.userId }, 'password reset not sent: a link went out moments ago');
  }

  return {
    /**
     * Answers at once and looks the email up off the request path: a known and an unknown address cost
     * the request the same work, so neither the answer nor its timing says whether an account exists.
     */
    forgot(email: string): void {
      background.run('password reset link', () => sendLink(email));
    },

    /**
     * Sets the password with the link's one-time token; revokes every refresh-token family of the account
     * and emails its owner that the password changed, in one transaction. A bad link is refused before argon2.
     */
    async reset(token: string, password: string): Promise<void> {
      await links.check(db, token, 'reset_password');
      const passwordHash = await passwords.hash(password);
      const { userId, familiesRevoked } = await withTransaction(db, async (tx) => {
        const account = await links.redeem(tx, token, 'reset_password');
        const credentials = createCredentialRepository(tx);
        await credentials.updatePasswordHash(account.userId, passwordHash);
        // The link reached this address, so following it proves the address as well.
        await credentials.markEmailVerified(account.userId, account.email);
        const revoked = await createRefreshTokenRepository(tx).revokeAllOfUser(account.userId, 'password reset');
        await enqueueAccountEmail(tx, { template: 'password-changed', userId: account.userId, email: account.email, name: account.name });
        return { userId: account.userId, familiesRevoked: revoked };
      });
      logger.info({ userId, familiesRevoked }, 'password reset: every session ended');
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
