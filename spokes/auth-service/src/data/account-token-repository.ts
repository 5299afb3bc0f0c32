import type { Queryable } from '@hubspoke/kit';

export type AccountTokenPurpose = 'verify_email' | 'reset_password';

/** A presented one-time token; timings come from the database clock. */
export interface StoredAccountToken {
  userId: string;
  /** The address the link was sent to. */
  email: string;
  expired: boolean;
  used: boolean;
}

interface TokenRow {
  user_id: string;
  email: string;
  expired: boolean;
  used: boolean;
}

export function createAccountTokenRepository(db: Queryable) {
  return {
    /** The new token replaces the account's unused ones of the same purpose: only the newest link works. */
    async replace(token: { hash: Buffer; userId: string; purpose: AccountTokenPurpose; email: string; ttlMs: number }): Promise<void> {
      await db.query('DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL', [token.userId, token.purpose]);
      await db.query(
        `INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
         VALUES ($1, $2, $3, $4, now() + $5::float8 * interval '1 millisecond')`,
        [token.hash, token.userId, token.purpose, token.email, token.ttlMs]);
    },

    /**
     * Milliseconds since the account's last token of this purpose was issued; null when there is none.
     * clock_timestamp, not now(): a transaction that waited for the account's lock started before the
     * one it waited for committed its token.
     */
    async sinceLastIssuedMs(userId: string, purpose: AccountTokenPurpose): Promise<number | null> {
      const { rows } = await db.query<{ ago_ms: number | null }>(
        `SELECT extract(epoch FROM clock_timestamp() - max(created_at)) * 1000 AS ago_ms FROM account_tokens WHERE user_id = $1 AND purpose = $2`,
        [userId, purpose]);
      const ago = rows[0]?.ago_ms;
      return ago === null || ago === undefined ? null : Number(ago);
    },

    /** With `lock`, two presentations of one link take turns, so only one can use it. */
    async find(hash: Buffer, purpose: AccountTokenPurpose, { lock }: { lock: boolean }): Promise<StoredAccountToken | null> {
      const { rows } = await db.query<TokenRow>(
        `SELECT user_id, email, expires_at <= now() AS expired, used_at IS NOT NULL AS used
         FROM account_tokens WHERE token_hash = $1 AND purpose = $2${lock ? ' FOR UPDATE' : ''}`, [hash, purpose]);
      const row = rows[0];
      return row ? { userId: row.user_id, email: row.email, expired: row.expired, used: row.used } : null;
    },

    async markUsed(hash: Buffer): Promise<void> {
      await db.query('UPDATE account_tokens SET used_at = now() WHERE token_hash = $1', [hash]);
    },

    async deleteAllOf(userId: string): Promise<number> {
      const { rowCount } = await db.query('DELETE FROM account_tokens WHERE user_id = $1', [userId]);
      return rowCount ?? 0;
    },

    /** Tokens expired for longer than `keepMs`: presenting one then says "invalid" rather than "expired". */
    async deleteExpired(keepMs: number): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM account_tokens WHERE expires_at < now() - $1::float8 * interval '1 millisecond'`, [keepMs]);
      return rowCount ?? 0;
    },
  };
}
