import { randomUUID } from 'node:crypto';
import { withTransaction, type Logger, type Pool, type Queryable, type RevocationWriter } from '@hubspoke/kit';
import type { TokenSettings } from '../config.js';
import { createCredentialRepository } from '../data/credential-repository.js';
import { createRefreshTokenRepository } from '../data/refresh-token-repository.js';
import type { AccessTokenSigner } from './access-tokens.js';
import { refreshExpired, refreshInvalid, refreshReused, revocationUnavailable } from './auth-errors.js';
import { hashOpaqueToken, isOpaqueTokenShaped, newOpaqueToken } from './opaque-tokens.js';
import { openSuccessor, sealSuccessor, type TokenPair } from './refresh-tokens.js';
import type { Credential } from './user.js';

export interface Sessions {
  /** A new token family for a login or registration, written in the caller's transaction. */
  start: (tx: Queryable, user: Pick<Credential, 'userId' | 'role' | 'emailVerified'>) => Promise<TokenPair>;
  /** Rotates a refresh token (see the rules on `rotate`). */
  refresh: (refreshToken: string) => Promise<TokenPair>;
  /**
   * Revokes the token's family and, at the hub, every access token of it that has not expired; unknown
   * tokens are ignored, so logout is idempotent. The access tokens go first: if Redis cannot take them the
   * logout fails (503) with nothing changed, and a retry does it all.
   */
  logout: (refreshToken: string) => Promise<void>;
}

type Outcome = { pair: TokenPair } | { reused: true; familyId: string } | { error: () => Error };

export interface SessionsDeps {
  db: Pool;
  signer: AccessTokenSigner;
  revocations: Pick<RevocationWriter, 'revokeToken'>;
  settings: TokenSettings;
  logger: Logger;
}

export function createSessions({ db, signer, revocations, settings, logger }: SessionsDeps): Sessions {
  async function issue(tx: Queryable, familyId: string, user: Pick<Credential, 'userId' | 'role' | 'emailVerified'>) {
    const refresh = newOpaqueToken();
    const { accessToken, expiresIn, tokenId, expiresAt } = await signer.sign(user);
    await createRefreshTokenRepository(tx).insert(refresh.hash, familyId, settings.refreshTokenTtlMs, { tokenId, expiresAt });
    return { hash: refresh.hash, pair: { accessToken, refreshToken: refresh.token, expiresIn } };
  }

  /** Revokes, at the hub, every access token of the family that has not expired; throws when Redis cannot take them. */
  async function revokeAccessTokens(familyId: string): Promise<void> {
    const live = await createRefreshTokenRepository(db).liveAccessTokens(familyId);
    await Promise.all(live.map(({ tokenId, expiresAt }) => revocations.revokeToken(tokenId, expiresAt)));
  }

  /**
   * Under a row lock on the presented token: an unused token is rotated to a new one in its family;
   * a token rotated less than the grace window ago, whose successor is still unused, gets that same
   * successor pair back (a client retrying after a lost response); any other rotated token is reuse —
   * the family is revoked (committed) and the caller gets 401 AUTH.REFRESH_REUSED.
   */
  async function rotate(tx: Queryable, token: string): Promise<Outcome> {
    const tokens = createRefreshTokenRepository(tx);
    const hash = hashOpaqueToken(token);
    const stored = await tokens.findForUpdate(hash, settings.refreshGraceMs);
    if (!stored || stored.familyRevoked) return { error: refreshInvalid };
    if (stored.expired) return { error: refreshExpired };
    if (stored.rotated) {
      if (stored.retryable && stored.successorBox) return { pair: openSuccessor(token, stored.successorBox) };
      await tokens.revokeFamily(stored.familyId, 'reuse');
      return { reused: true, familyId: stored.familyId };
    }
    // Role changes and disabled accounts take effect at the next refresh.
    const user = await createCredentialRepository(tx).findActiveById(stored.userId);
    if (!user) {
      await tokens.revokeFamily(stored.familyId, 'account disabled');
      return { error: refreshInvalid };
    }
    const next = await issue(tx, stored.familyId, user);
    await tokens.markRotated(hash, next.hash, sealSuccessor(token, next.pair));
    return { pair: next.pair };
  }

  return {
    async start(tx, user) {
      const familyId = randomUUID();
      await createRefreshTokenRepository(tx).createFamily(familyId, user.userId);
      return (await issue(tx, familyId, user)).pair;
    },

    async refresh(refreshToken) {
      if (!isOpaqueTokenShaped(refreshToken)) throw refreshInvalid();
      const outcome = await withTransaction(db, (tx) => rotate(tx, refreshToken));
      if ('pair' in outcome) return outcome.pair;
      if ('reused' in outcome) {
        logger.warn({ familyId: outcome.familyId }, 'refresh token reused: token family revoked');
        // Whoever holds the family's access tokens (the thief, or the victim) loses them too; the family itself is already revoked.
        await revokeAccessTokens(outcome.familyId).catch((error: unknown) => {
          logger.warn({ err: error, familyId: outcome.familyId }, 'refresh token reused: access tokens could not be revoked');
        });
        throw refreshReused();
      }
      throw outcome.error();
    },

    async logout(refreshToken) {
      if (!isOpaqueTokenShaped(refreshToken)) return;
      const tokens = createRefreshTokenRepository(db);
      const familyId = await tokens.familyOf(hashOpaqueToken(refreshToken));
      if (!familyId) return;
      try {
        await revokeAccessTokens(familyId);
      } catch (error) {
        logger.warn({ err: error, familyId }, 'logout: access tokens could not be revoked');
        throw revocationUnavailable();
      }
      await tokens.revokeFamily(familyId, 'logout');
    },
  };
}
