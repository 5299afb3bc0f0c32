import type { Queryable } from '@hubspoke/kit';
import { REBUILD_LOCK, USER_LOCK_SEED } from './count-locks.js';

export function createForgottenUserRepository(db: Queryable) {
  return {
    /**
     * Replaces the user by one random pseudonym (the same one in every row, so distinct counts hold) in
     * their events, whose data is cleared, and in the active-user rows; records the user's hash so their
     * later events are pseudonymised on arrival. Returns how many events were rewritten.
     */
    async forget(userId: string): Promise<number> {
      // Both exclusively (count-locks.ts): no rebuild runs meanwhile, the user's lock waits for any transaction
      // storing their events and holds off new ones until commit.
      await db.query('SELECT pg_advisory_xact_lock($3::bigint), pg_advisory_xact_lock(hashtextextended($1::uuid::text, $2))',
        [userId, USER_LOCK_SEED, REBUILD_LOCK]);
      const { rows } = await db.query<{ pseudonym: string }>(
        `INSERT INTO forgotten_users (user_hash, pseudonym) VALUES (sha256(convert_to($1::uuid::text, 'UTF8')), gen_random_uuid())
         ON CONFLICT (user_hash) DO UPDATE SET user_hash = excluded.user_hash
         RETURNING pseudonym`, [userId]);
      const pseudonym = rows[0]!.pseudonym;
      const { rowCount } = await db.query(`UPDATE events SET user_id = $2, data = '{}'::jsonb WHERE user_id = $1`, [userId, pseudonym]);
      await db.query('UPDATE active_users SET user_id = $2 WHERE user_id = $1', [userId, pseudonym]);
      return rowCount ?? 0;
    },
  };
}
