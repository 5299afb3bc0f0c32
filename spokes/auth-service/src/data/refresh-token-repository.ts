import type { Queryable } from '@hubspoke/kit';

/** A presented refresh token, as the rotation flow needs it; timings come from the database clock. */
export interface StoredRefreshToken {
  familyId: string;
  userId: string;
  familyRevoked: boolean;
  expired: boolean;
  rotated: boolean;
  /** Rotated within the grace window, to a successor that is itself still unused. */
  retryable: boolean;
  successorBox: Buffer | null;
}

interface TokenRow {
  family_id: string;
  user_id: string;
  family_revoked: boolean;
  expired: boolean;
  rotated: boolean;
  retryable: boolean;
  successor_box: Buffer | null;
}

export function createRefreshTokenRepository(db: Queryable) {
  return {
    async createFamily(familyId: string, userId: string): Promise<void> {
      await db.query('INSERT INTO refresh_token_families (id, user_id) VALUES ($1, $2)', [familyId, userId]);
    },

    /** A refresh token and the access token issued with it (its id and `exp`, unix seconds). */
    async insert(tokenHash: Buffer, familyId: string, ttlMs: number, access: { tokenId: string; expiresAt: number }): Promise<void> {
      await db.query(
        `INSERT INTO refresh_tokens (token_hash, family_id, expires_at, access_token_id, access_expires_at)
         VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond', $4, to_timestamp($5))`, [tokenHash, familyId, ttlMs, access.tokenId, access.expiresAt]);
    },

    /** The family's access tokens that have not expired yet, with their `exp` (unix seconds). */
    async liveAccessTokens(familyId: string): Promise<{ tokenId: string; expiresAt: number }[]> {
      const { rows } = await db.query<{ access_token_id: string; expires_at: number }>(
        `SELECT access_token_id, extract(epoch FROM access_expires_at)::float8 AS expires_at FROM refresh_tokens
         WHERE family_id = $1 AND access_token_id IS NOT NULL AND access_expires_at > now()`, [familyId]);
      return rows.map((row) => ({ tokenId: row.access_token_id, expiresAt: Math.ceil(row.expires_at) }));
    },

    /** Locks the token row, so concurrent presentations of one token take turns. */
    async findForUpdate(tokenHash: Buffer, graceMs: number): Promise<StoredRefreshToken | null> {
      const { rows } = await db.query<TokenRow>(
        `SELECT t.family_id, f.user_id, f.revoked_at IS NOT NULL AS family_revoked,
                t.expires_at <= now() AS expired, t.rotated_at IS NOT NULL AS rotated,
                coalesce(t.rotated_at > now() - $2::float8 * interval '1 millisecond' AND s.rotated_at IS NULL, false) AS retryable,
                t.successor_box
         FROM refresh_tokens t
         JOIN refresh_token_families f ON f.id = t.family_id
         LEFT JOIN refresh_tokens s ON s.token_hash = t.successor_hash
         WHERE t.token_hash = $1
         FOR UPDATE OF t`, [tokenHash, graceMs]);
      const row = rows[0];
      return row ? {
        familyId: row.family_id, userId: row.user_id, familyRevoked: row.family_revoked, expired: row.expired,
        rotated: row.rotated, retryable: row.retryable, successorBox: row.successor_box,
      } : null;
    },

    async markRotated(tokenHash: Buffer, successorHash: Buffer, successorBox: Buffer): Promise<void> {
      await db.query(
        'UPDATE refresh_tokens SET rotated_at = now(), successor_hash = $2, successor_box = $3 WHERE token_hash = $1',
        [tokenHash, successorHash, successorBox]);
    },

    async familyOf(tokenHash: Buffer): Promise<string | null> {
      const { rows } = await db.query<{ family_id: string }>('SELECT family_id FROM refresh_tokens WHERE token_hash = $1', [tokenHash]);
      return rows[0]?.family_id ?? null;
    },

    async revokeFamily(familyId: string, reason: string): Promise<void> {
      await db.query(
        'UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL', [familyId, reason]);
    },

    /** Returns how many live families were revoked. */
    async revokeAllOfUser(userId: string, reason: string): Promise<number> {
      const { rowCount } = await db.query(
        'UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL',
        [userId, reason]);
      return rowCount ?? 0;
    },

    /** Tokens expired for longer than `keepMs` prove nothing any more, not even reuse. */
    async deleteExpired(keepMs: number): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM refresh_tokens WHERE expires_at < now() - $1::float8 * interval '1 millisecond'`, [keepMs]);
      return rowCount ?? 0;
    },
  };
}

export type RefreshTokenRepository = ReturnType<typeof createRefreshTokenRepository>;
