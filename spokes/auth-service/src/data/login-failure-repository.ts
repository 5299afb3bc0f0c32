import type { Queryable } from '@hubspoke/kit';

export type ThrottleScope = 'account' | 'ip';

export function createLoginFailureRepository(db: Queryable) {
  return {
    /**
     * Milliseconds until `subject` is below `limit` failures in the window again, or 0 when it already is:
     * the limit-th most recent failure is the one whose expiry frees a slot.
     */
    async blockedForMs(scope: ThrottleScope, subject: string, limit: number, windowMs: number): Promise<number> {
      const { rows } = await db.query<{ wait_ms: number }>(
        `SELECT extract(epoch FROM failed_at + $4::float8 * interval '1 millisecond' - now()) * 1000 AS wait_ms
         FROM login_failures
         WHERE scope = $1 AND subject = $2 AND failed_at > now() - $4::float8 * interval '1 millisecond'
         ORDER BY failed_at DESC OFFSET $3 - 1 LIMIT 1`, [scope, subject, limit, windowMs]);
      return rows[0] ? Math.max(1, Number(rows[0].wait_ms)) : 0;
    },

    async record(failures: { scope: ThrottleScope; subject: string }[]): Promise<void> {
      await db.query(
        'INSERT INTO login_failures (scope, subject) SELECT * FROM unnest($1::text[], $2::text[])',
        [failures.map((f) => f.scope), failures.map((f) => f.subject)]);
    },

    async clear(scope: ThrottleScope, subject: string): Promise<void> {
      await db.query('DELETE FROM login_failures WHERE scope = $1 AND subject = $2', [scope, subject]);
    },

    async deleteOlderThan(windowMs: number): Promise<number> {
      const { rowCount } = await db.query(
        `DELETE FROM login_failures WHERE failed_at < now() - $1::float8 * interval '1 millisecond'`, [windowMs]);
      return rowCount ?? 0;
    },
  };
}

export type LoginFailureRepository = ReturnType<typeof createLoginFailureRepository>;
