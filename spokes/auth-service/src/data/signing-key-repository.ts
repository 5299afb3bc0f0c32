import type { JWK } from 'jose';
import type { Pool, Queryable } from '@hubspoke/kit';
import { withTransaction } from '@hubspoke/kit';
import type { SealedKey } from '../domain/key-encryption.js';

export interface StoredSigningKey {
  kid: string;
  alg: string;
  /** The private key as stored: sealed, or (a row from before encryption at rest, until the next start) a plaintext JWK. */
  privateKey: SealedKey | { plaintext: JWK };
  publicJwk: JWK;
  activatesAt: Date;
}

export type NewSigningKey = Omit<StoredSigningKey, 'activatesAt' | 'privateKey'> & { privateKey: SealedKey };

interface KeyRow {
  kid: string;
  alg: string;
  private_jwk: JWK | null;
  private_key_sealed: string | null;
  kek_id: string | null;
  public_jwk: JWK;
  activates_at: Date;
}

// Replicas starting together take this lock, so exactly one of them generates the first key or reseals the table.
const SIGNING_KEYS_LOCK = 'hubspoke-auth.signing_keys';

const toStored = (r: KeyRow): StoredSigningKey => ({
  kid: r.kid, alg: r.alg, publicJwk: r.public_jwk, activatesAt: r.activates_at,
  privateKey: r.private_key_sealed !== null && r.kek_id !== null ? { kekId: r.kek_id, sealed: r.private_key_sealed } : { plaintext: r.private_jwk! },
});

export function createSigningKeyRepository(db: Queryable) {
  return {
    /** Every key, oldest activation first. */
    async list(): Promise<StoredSigningKey[]> {
      const { rows } = await db.query<KeyRow>(
        `SELECT kid, alg, private_jwk, private_key_sealed, kek_id, public_jwk, activates_at FROM signing_keys ORDER BY activates_at, created_at`);
      return rows.map(toStored);
    },

    /** Adds a key that signs from `activationDelayMs` after now (database clock). */
    async insert(key: NewSigningKey, activationDelayMs: number): Promise<void> {
      await db.query(
        `INSERT INTO signing_keys (kid, alg, private_key_sealed, kek_id, public_jwk, activates_at)
         VALUES ($1, $2, $3, $4, $5, now() + $6::float8 * interval '1 millisecond')`,
        [key.kid, key.alg, key.privateKey.sealed, key.privateKey.kekId, JSON.stringify(key.publicJwk), activationDelayMs]);
    },

    /** Replaces a key's stored private part (plaintext or sealed under another KEK) with `sealed`. */
    async reseal(kid: string, sealed: SealedKey): Promise<void> {
      await db.query('UPDATE signing_keys SET private_key_sealed = $2, kek_id = $3, private_jwk = NULL WHERE kid = $1', [kid, sealed.sealed, sealed.kekId]);
    },
  };
}

export type SigningKeyRepository = ReturnType<typeof createSigningKeyRepository>;

/** Runs `work` in a transaction holding the lock every replica takes before it creates or reseals keys. */
export function withSigningKeysLock<T>(pool: Pool, work: (keys: SigningKeyRepository) => Promise<T>): Promise<T> {
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [SIGNING_KEYS_LOCK]);
    return work(createSigningKeyRepository(tx));
  });
}
