import type { JWK } from 'jose';
import type { Pool, Queryable } from '@hubspoke/kit';
import { withTransaction } from '@hubspoke/kit';

export interface StoredSigningKey {
  kid: string;
  alg: string;
  privateJwk: JWK;
  publicJwk: JWK;
  activatesAt: Date;
}

interface KeyRow {
  kid: string;
  alg: string;
  private_jwk: JWK;
  public_jwk: JWK;
  activates_at: Date;
}

// Replicas starting together take this lock, so exactly one of them generates the first key.
const FIRST_KEY_LOCK = 'hubspoke-auth.signing_keys';

export function createSigningKeyRepository(db: Queryable) {
  return {
    /** Every key, oldest activation first. */
    async list(): Promise<StoredSigningKey[]> {
      const { rows } = await db.query<KeyRow>(
        'SELECT kid, alg, private_jwk, public_jwk, activates_at FROM signing_keys ORDER BY activates_at, created_at');
      return rows.map((r) => ({ kid: r.kid, alg: r.alg, privateJwk: r.private_jwk, publicJwk: r.public_jwk, activatesAt: r.activates_at }));
    },

    /** Adds a key that signs from `activationDelayMs` after now (database clock). */
    async insert(key: Omit<StoredSigningKey, 'activatesAt'>, activationDelayMs: number): Promise<void> {
      await db.query(
        `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, activates_at)
         VALUES ($1, $2, $3, $4, now() + $5::float8 * interval '1 millisecond')`,
        [key.kid, key.alg, JSON.stringify(key.privateJwk), JSON.stringify(key.publicJwk), activationDelayMs]);
    },
  };
}

/** Runs `create` only when the table is empty, under a lock every replica takes: one first key, shared. */
export async function ensureFirstSigningKey(pool: Pool, create: () => Promise<Omit<StoredSigningKey, 'activatesAt'>>): Promise<boolean> {
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [FIRST_KEY_LOCK]);
    const { rows } = await tx.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM signing_keys) AS present');
    if (rows[0]?.present) return false;
    await createSigningKeyRepository(tx).insert(await create(), 0);
    return true;
  });
}
