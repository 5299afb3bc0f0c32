import type { Queryable } from '@hubspoke/kit';
import type { AccountSettings } from '../config.js';
import { createAccountTokenRepository, type AccountTokenPurpose } from '../data/account-token-repository.js';
import { createCredentialRepository } from '../data/credential-repository.js';
import { linkExpired, linkInvalid, linkUsed } from './auth-errors.js';
import { hashOpaqueToken, isOpaqueTokenShaped, newOpaqueToken } from './opaque-tokens.js';
import type { Credential } from './user.js';

const PAGES: Record<AccountTokenPurpose, string> = { verify_email: 'verify-email', reset_password: 'reset-password' };

export interface AccountLink {
  link: string;
  expiresInMinutes: number;
}

/**
 * One-time links emailed to an account's address: a random token (only its SHA-256 is stored) in the
 * fragment of a page of the web app, so no server on the way (gateway access logs included) ever sees it.
 */
export function createAccountLinks(settings: AccountSettings) {
  const ttlMs: Record<AccountTokenPurpose, number> = { verify_email: settings.verifyEmailTtlMs, reset_password: settings.passwordResetTtlMs };
  const base = settings.linkBaseUrl.replace(/\/+$/, '');

  /** The account the token was issued to, if it still has the address the link went to; throws the 400s otherwise. */
  async function inspect(q: Queryable, token: string, purpose: AccountTokenPurpose, lock: boolean): Promise<Credential> {
    if (!isOpaqueTokenShaped(token)) throw linkInvalid();
    const stored = await createAccountTokenRepository(q).find(hashOpaqueToken(token), purpose, { lock });
    if (!stored) throw linkInvalid();
    if (stored.used) throw linkUsed();
    if (stored.expired) throw linkExpired();
    const credential = await createCredentialRepository(q).findActiveById(stored.userId);
    if (!credential || credential.email !== stored.email) throw linkInvalid();
    return credential;
  }

  return {
    /**
     * A new link for the account, replacing its unused ones of the purpose, in the caller's transaction; or,
     * when the last one went out less than ACCOUNT_EMAIL_INTERVAL ago, how long to wait. Requests for one
     * account take turns (row lock), so two at once can neither both send nor leave two links working.
     */
    async issue(tx: Queryable, account: Pick<Credential, 'userId' | 'email'>, purpose: AccountTokenPurpose): Promise<AccountLink | { retryAfterMs: number }> {
      await createCredentialRepository(tx).lock(account.userId);
      const tokens = createAccountTokenRepository(tx);
      const since = await tokens.sinceLastIssuedMs(account.userId, purpose);
      const retryAfterMs = since === null ? 0 : settings.emailIntervalMs - since;
      if (retryAfterMs > 0) return { retryAfterMs };
      const { token, hash } = newOpaqueToken();
      await tokens.replace({ hash, userId: account.userId, purpose, email: account.email, ttlMs: ttlMs[purpose] });
      return { link: `${base}/${PAGES[purpose]}#token=${token}`, expiresInMinutes: Math.max(1, Math.round(ttlMs[purpose] / 60_000)) };
    },

    /** Checks a token without using it: a bad link is refused before any costly work. */
    check: (q: Queryable, token: string, purpose: AccountTokenPurpose) => inspect(q, token, purpose, false),

    /** Uses the token, under a row lock so two presentations cannot both succeed; throws the 400s when it cannot be used. */
    async redeem(tx: Queryable, token: string, purpose: AccountTokenPurpose): Promise<Credential> {
      const credential = await inspect(tx, token, purpose, true);
      await createAccountTokenRepository(tx).markUsed(hashOpaqueToken(token));
      return credential;
    },
  };
}

export type AccountLinks = ReturnType<typeof createAccountLinks>;
