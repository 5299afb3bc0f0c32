import type { Queryable } from '@hubspoke/kit';
import { REBUILD_LOCK, USER_LOCK_SEED } from './count-locks.js';

export function createForgottenUserRepository(db: Queryable) {
  return {
    /**
     * Replaces the user by one random pseudonym (the same one in every row, so distinct counts hold) wherever
     * an event names them (pseudonyms.ts: their own events lose their data, others keep theirs with the id
     * swapped) and in the active-user rows; records the user's hash so their later events are pseudonymised
     * on arrival. Returns how many events were rewritten.
     */
    async forget(userId: string): Promise<number> {
      // Both exclusively (count-locks.ts): no rebuild runs meanwhile, the user's lock waits for any transaction
      // storing events that name them and holds off new ones until commit.
      await db.query('SELECT pg_advisory_xact_lock($3::bigint), pg_advisory_xact_lock(hashtextextended($1::uuid::text, $2))',
        [userId, USER_LOCK_SEED, REBUILD_LOCK]);
      const { rows } = await db.query<{ pseudonym: string }>(
        `INSERT INTO forgotten_users (user_hash, pseudonym) VALUES (sha256(convert_to($1::uuid::text, 'UTF8')), gen_random_uuid())
         ON CONFLICT (user_hash) DO UPDATE SET user_hash = excluded.user_hash
         RETURNING pseudonym`, [userId]);
      const params = [userId, rows[0]!.pseudonym];
      const own = await db.query(
        `UPDATE events SET user_id = $2::uuid, user_refs = array_replace(user_refs, $1::uuid::text, $2::uuid::text), data = '{}'::jsonb WHERE user_id = $1::uuid`, params);
      const named = await db.query(
        `UPDATE events SET user_refs = array_replace(user_refs, $1::uuid::text, $2::uuid::text), data = coalesce((
           SELECT jsonb_object_agg(field, CASE WHEN jsonb_typeof(value) = 'string' AND lower(value #>> '{}') = $1::uuid::text THEN to_jsonb($2::uuid::text) ELSE value END)
           FROM jsonb_each(data) AS d(field, value)), '{}'::jsonb)
         WHERE user_refs @> ARRAY[$1::uuid::text]`, params);
      await db.query('UPDATE active_users SET user_id = $2 WHERE user_id = $1', params);
      return (own.rowCount ?? 0) + (named.rowCount ?? 0);
    },
  };
}
