import type { Queryable } from '@hubspoke/kit';

export function createLoginFailureRepository(db: Queryable) {
  return {
    /** Failures of `email` from `address` within the window since its last success, and how long ago the last one was. */
    async ofPair(email: string, address: string, windowMs: number): Promise<{ count: number; sinceLastMs: number }> {
      const { rows } = await db.query<{ count: number; since_last_ms: number | null }>(
        `SELECT count(*)::int AS count, extract(epoch FROM now() - max(failed_at)) * 1000 AS since_last_ms
         FROM login_failures WHERE email = $1 AND address = $2 AND cleared_at IS NULL AND failed_at > now() - $3::float8 * interval '1 millisecond'`, [email, address, windowMs]);
      return { count: rows[0]!.count, sinceLastMs: Number(rows[0]!.since_last_ms ?? 0) };
    },

    /**
     * Milliseconds until `address` is below `limit` failures (over every account) in the window again, or 0 when it
     * already is: the limit-th most recent failure is the one whose expiry frees a slot.
     */
    async addressBlockedForMs(address: string, limit: number, windowMs: number): Promise<number> {
      const { rows } = await db.query<{ wait_ms: number }>(
        `SELECT extract(epoch FROM failed_at + $3::float8 * interval '1 millisecond' - now()) * 1000 AS wait_ms
         FROM login_failures WHERE address = $1 AND failed_at > now() - $3::float8 * interval '1 millisecond'
         ORDER BY failed_at DESC OFFSET $2 - 1 LIMIT 1`, [address, limit, windowMs]);
      return rows[0] ? Math.max(1, Number(rows[0].wait_ms)) : 0;
    },

    async record(email: string, address: string): Promise<void> {
      await db.query('INSERT INTO login_failures (email, address) VALUES ($1, $2)', [email, address]);
    },

    /** The pair's count starts again; the rows still count against the address. */
    async clearPair(email: string, address: string): Promise<void> {
      await db.query('UPDATE login_failures SET cleared_at = now() WHERE email = $1 AND address = $2 AND cleared_at IS NULL', [email, address]);
    },

    async deleteOlderThan(windowMs: number): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM login_failures WHERE failed_at < now() - $1::float8 * interval '1 millisecond'`, [windowMs]);
      return rowCount ?? 0;
    },
  };
}
