import { withTransaction, type Logger, type Pool, type Queryable } from '@hubspoke/kit';
import { createCredentialRepository } from '../data/credential-repository.js';
import type { AccountLinks } from './account-links.js';
import { accountClosed, emailAlreadyVerified, tooManyEmails } from './auth-errors.js';
import { enqueueAccountEmail } from './events.js';
import type { Credential } from './user.js';

/**
 * Proving an account's email: a link sent at registration (and again on request, at most one per
 * ACCOUNT_EMAIL_INTERVAL), followed once. Only the address the link went to is verified; an account
 * whose address changed needs a link to the new one (credentials.email_verified_for).
 */
export function createEmailVerification({ db, links, logger }: { db: Pool; links: AccountLinks; logger: Logger }) {
  /** Queues the email with a new link; when one went out moments ago, nothing, and how long to wait. */
  async function send(tx: Queryable, account: Pick<Credential, 'userId' | 'email' | 'name'>): Promise<{ retryAfterMs: number } | undefined> {
    const issued = await links.issue(tx, account, 'verify_email');
    if ('retryAfterMs' in issued) return issued;
    await enqueueAccountEmail(tx, { template: 'verify-email', userId: account.userId, email: account.email, name: account.name, ...issued });
    return undefined;
  }

  return {
    /** In the registration's transaction (a new account has had no link yet). */
    send,

    /** Another link for the caller's own account: 409 when already verified, 429 when one went out moments ago. */
    async resend(userId: string): Promise<{ email: string }> {
      const account = await createCredentialRepository(db).findActiveById(userId);
      if (!account) throw accountClosed();
      if (account.emailVerified) throw emailAlreadyVerified();
      const tooSoon = await withTransaction(db, (tx) => send(tx, account));
      if (tooSoon) throw tooManyEmails(tooSoon.retryAfterMs / 1000);
      logger.info({ userId }, 'verification email requested');
      return { email: account.email };
    },

    /** Uses the link: the address it went to is verified from now on (fresh access tokens say so). */
    async verify(token: string): Promise<{ email: string; emailVerified: true }> {
      const account = await withTransaction(db, async (tx) => {
        const owner = await links.redeem(tx, token, 'verify_email');
        await createCredentialRepository(tx).markEmailVerified(owner.userId, owner.email);
        return owner;
      });
      logger.info({ userId: account.userId }, 'email verified');
      return { email: account.email, emailVerified: true };
    },
  };
}

export type EmailVerification = ReturnType<typeof createEmailVerification>;
