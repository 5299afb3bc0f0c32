import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { createRegistryConnection } from '../registry/connection.js';

/**
 * Access-token revocations in Redis, spelled only here: the auth spoke writes them, the hub keeps a copy in
 * memory that Redis keeps current (revocation-mirror.ts) and checks every authenticated request against it,
 * so a logout or a deleted account takes effect at once instead of when the token expires.
 * - `${keyPrefix}revoked:token:${jti}`  one token (logout), kept until that token expires;
 * - `${keyPrefix}revoked:user:${userId}` unix seconds: every token of the user issued before it is revoked
 *   (account deleted); kept for the longest access-token lifetime, after which no such token is valid anyway;
 * - `${keyPrefix}revoked:index` a sorted set of those keys scored by when they expire (ms), so a reader loads
 *   the list without SCANning the keyspace (which the hub's ACL forbids).
 */
export function revocationKeys(keyPrefix = '') {
  return {
    /** Every key of the list, as a Redis ACL pattern (registry/acl.ts). */
    pattern: `${keyPrefix}revoked:*`,
    /** What every key of the list starts with (the mirror's tracking prefix). */
    prefix: `${keyPrefix}revoked:`,
    index: `${keyPrefix}revoked:index`,
    token: (tokenId: string) => `${keyPrefix}revoked:token:${tokenId}`,
    user: (userId: string) => `${keyPrefix}revoked:user:${userId}`,
  };
}

/** Redis's own channel for client-side caching notices (CLIENT TRACKING), server-wide: never prefixed. */
export const TRACKING_NOTICES_CHANNEL = '__redis__:invalidate';

/** What the two keys of a token held when read, and the token's own claims. */
export interface RevocationEntries {
  token: string | null;
  userNotBefore: string | null;
}

/** A token is revoked when its id is listed, or it was issued before its user's "not before". */
export function isRevoked(issuedAtSec: number, entries: RevocationEntries): boolean {
  if (entries.token !== null) return true;
  const notBefore = entries.userNotBefore === null ? Number.NaN : Number(entries.userNotBefore);
  return Number.isFinite(notBefore) && issuedAtSec < notBefore;
}

export interface RevocationWriter {
  /** Revokes one token until it expires (`expiresAtSec`, its `exp`); a token already expired needs nothing. */
  revokeToken: (tokenId: string, expiresAtSec: number) => Promise<void>;
  /** Revokes every token of the user issued up to now. */
  revokeUser: (userId: string) => Promise<void>;
  close: () => Promise<void>;
}

export interface RevocationWriterOptions {
  /** A URL for a connection the writer owns, failing fast while Redis is down (a write then throws). */
  redisUrl: string;
  keyPrefix?: string;
  /** The longest access-token lifetime: how long a user's "not before" must be kept. */
  accessTokenTtlMs: number;
  logger: Logger;
  now?: () => number;
}

export function createRevocationWriter({ redisUrl, keyPrefix = '', accessTokenTtlMs, logger, now = Date.now }: RevocationWriterOptions): RevocationWriter {
  const keys = revocationKeys(keyPrefix);
  const redis: Redis = createRegistryConnection(redisUrl, logger, 'revocation writer');
  redis.connect().catch((error: unknown) => logger.warn({ err: error }, 'revocations: redis unreachable at start; writes fail until it returns'));
  // A minute beyond the token lifetime covers verifiers' clock tolerance.
  const keepUserSec = Math.ceil(accessTokenTtlMs / 1000) + 60;
  // The entry and its place in the index in one transaction; entries gone from Redis leave the index here.
  const write = async (key: string, value: string, ttlSec: number) => {
    const at = now();
    const results = await redis.multi()
      .set(key, value, 'EX', ttlSec)
      .zadd(keys.index, at + ttlSec * 1000, key)
      .zremrangebyscore(keys.index, '-inf', at)
      .exec();
    const failed = results?.find(([error]) => error !== null)?.[0];
    if (!results || failed) throw failed ?? new Error('revocations: the write was discarded');
  };
  return {
    async revokeToken(tokenId, expiresAtSec) {
      const ttlSec = expiresAtSec - Math.floor(now() / 1000) + 60;
      if (ttlSec > 60) await write(keys.token(tokenId), '1', ttlSec);
    },
    async revokeUser(userId) {
      // Rounded up, so a token issued earlier within this same second (its `iat` rounded down) is covered.
      await write(keys.user(userId), String(Math.ceil(now() / 1000)), keepUserSec);
    },
    async close() {
      if (redis.status !== 'end') await redis.quit().catch(() => redis.disconnect());
    },
  };
}
