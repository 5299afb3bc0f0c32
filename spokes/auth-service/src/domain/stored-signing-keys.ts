import type { Logger, Pool } from '@hubspoke/kit';
import { createSigningKeyRepository, withSigningKeysLock, type NewSigningKey, type StoredSigningKey } from '../data/signing-key-repository.js';
import { signingKeysMissing } from './auth-errors.js';
import type { KeyEncryption } from './key-encryption.js';
import { generateSigningKey, toSigningKey, type KeyRing, type SigningKey } from './signing-keys.js';

export interface StoredKeyRingOptions {
  db: Pool;
  encryption: KeyEncryption;
  accessTokenTtlMs: number;
  reloadIntervalMs: number;
  logger: Logger;
}

// Verifiers accept tokens a little past `exp`; a retired key stays published past that too.
const CLOCK_SKEW_MS = 60_000;

/**
 * Keys kept in the auth database, their private parts sealed with the KEK: the first start generates one (once,
 * across replicas); `rotate-keys` adds the next. Every start first reseals what is not under the current KEK
 * (plaintext rows from before encryption at rest, rows under AUTH_KEY_ENCRYPTION_KEY_PREVIOUS) and fails, naming
 * the row, when a key opens with neither KEK. Every replica rereads the table periodically and picks the current key
 * by activation time, so they all switch together and publish a new key before any of them signs with it.
 */
export async function keyRingFromDatabase({ db, encryption, accessTokenTtlMs, reloadIntervalMs, logger }: StoredKeyRingOptions): Promise<KeyRing> {
  const { generated, resealed } = await withSigningKeysLock(db, async (repository) => {
    const stored = await repository.list();
    if (stored.length === 0) {
      await repository.insert(await newSealedKey(encryption), 0);
      return { generated: true, resealed: 0 };
    }
    const stale = stored.filter((key) => !('kekId' in key.privateKey) || key.privateKey.kekId !== encryption.currentId);
    for (const key of stale) await repository.reseal(key.kid, encryption.seal(key.kid, privateJwkOf(key, encryption)));
    return { generated: false, resealed: stale.length };
  });
  if (generated) logger.info({ kekId: encryption.currentId }, 'signing key generated and stored encrypted');
  if (resealed > 0) logger.info({ resealed, kekId: encryption.currentId }, 'signing keys re-encrypted with the current key-encryption key');

  const repository = createSigningKeyRepository(db);
  let keys: (SigningKey & { activatesAt: number })[] = [];
  const reload = async () => {
    const stored = await repository.list();
    keys = await Promise.all(stored.map(async (s) => ({ ...(await toSigningKey({ ...privateJwkOf(s, encryption), kid: s.kid, alg: s.alg })), activatesAt: s.activatesAt.getTime() })));
    if (keys.length === 0) throw signingKeysMissing();
  };
  await reload();
  const timer = setInterval(() => {
    reload().catch((error: unknown) => logger.warn({ err: error }, 'signing keys reload failed; keeping the keys already loaded'));
  }, reloadIntervalMs);
  timer.unref();

  const currentIndex = (now: number) => {
    const index = keys.findLastIndex((k) => k.activatesAt <= now);
    return index === -1 ? 0 : index;
  };

  return {
    current: () => keys[currentIndex(Date.now())]!,
    jwks() {
      const now = Date.now();
      const current = currentIndex(now);
      // A superseded key signed until its successor activated; its last tokens live one TTL longer.
      const live = keys.filter((_, i) => i >= current || keys[i + 1]!.activatesAt + accessTokenTtlMs + CLOCK_SKEW_MS > now);
      return { keys: live.map((k) => k.publicJwk) };
    },
    reload,
    stop: () => clearInterval(timer),
  };
}

/** Adds the next key to the database, sealed; it signs after `activationDelayMs`, once every verifier can know it. */
export async function rotateStoredKey(db: Pool, encryption: KeyEncryption, activationDelayMs: number): Promise<string> {
  const key = await newSealedKey(encryption);
  await createSigningKeyRepository(db).insert(key, activationDelayMs);
  return key.kid;
}

async function newSealedKey(encryption: KeyEncryption): Promise<NewSigningKey> {
  const { privateJwk, ...key } = await generateSigningKey();
  return { ...key, privateKey: encryption.seal(key.kid, privateJwk) };
}

const privateJwkOf = (key: StoredSigningKey, encryption: KeyEncryption) =>
  'kekId' in key.privateKey ? encryption.open(key.kid, key.privateKey) : key.privateKey.plaintext;
