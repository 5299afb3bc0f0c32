import type { Queryable } from '@hubspoke/kit';

export interface AdminSeed {
  email: string;
  userId: string;
  /** The seeded account is still enabled. */
  active: boolean;
}

// Replicas starting together take this lock, so the seed is decided once.
const SEED_LOCK = 'hubspoke-auth.admin_seed';

export function createAdminSeedRepository(db: Queryable) {
  return {
    /** Holds until the transaction ends: call first, inside it. */
    async lock(): Promise<void> {
      await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [SEED_LOCK]);
    },

    async find(): Promise<AdminSeed | null> {
      const { rows } = await db.query<{ email: string; user_id: string; active: boolean }>(
        `SELECT s.email, s.user_id, EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = s.user_id AND c.disabled_at IS NULL) AS active
         FROM admin_seed s`);
      return rows[0] ? { email: rows[0].email, userId: rows[0].user_id, active: rows[0].active } : null;
    },

    async record(email: string, userId: string): Promise<void> {
      await db.query('INSERT INTO admin_seed (email, user_id) VALUES ($1, $2)', [email, userId]);
    },
  };
}
