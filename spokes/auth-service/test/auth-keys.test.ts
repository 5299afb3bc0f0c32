import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { decodeProtectedHeader } from 'jose';
import { createLogger, createPool, migrate } from '@hubspoke/kit';
import { createTestDatabase, spawnService } from '@hubspoke/kit/testing';
import { createKeyEncryption } from '../src/domain/key-encryption.js';
import { keyRingFromEnvironment } from '../src/domain/signing-keys.js';
import { keyRingFromDatabase, rotateStoredKey } from '../src/domain/stored-signing-keys.js';
import { authFixture, PASSWORD, TEST_ENV, type AuthFixture } from './auth-fixture.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
const encryption = createKeyEncryption({ current: TEST_ENV.AUTH_KEY_ENCRYPTION_KEY! });

const fixtures: AuthFixture[] = [];
afterAll(async () => {
  for (const fx of fixtures) await fx.cleanup();
});

async function open(label: string, env: NodeJS.ProcessEnv = {}) {
  const fx = await authFixture(label, { env });
  fixtures.push(fx);
  return fx;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const jwksKids = async (fx: AuthFixture) => ((await request(fx.app).get('/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid);

describe('signing keys kept in the auth database', () => {
  test('when a new key is added and made current, then old-kid tokens still verify, new tokens use the new kid, and the JWKS lists both', async () => {
    const fx = await open('auth_keys_rotate');
    const before = await fx.register();
    const oldKid = kidOf(before.accessToken);

    // Published ahead of use: with an activation delay the new key is in the JWKS but does not sign yet.
    const upcoming = await rotateStoredKey(fx.db, encryption, 60_000);
    await fx.keys.reload();
    expect(await jwksKids(fx)).toEqual([oldKid, upcoming]);
    expect(kidOf((await fx.register()).accessToken)).toBe(oldKid);

    await fx.db.query('UPDATE signing_keys SET activates_at = now() WHERE kid = $1', [upcoming]);
    await fx.keys.reload();
    const after = await request(fx.app).post('/login').send({ email: before.user.email, password: PASSWORD });
    expect(kidOf(after.body.accessToken)).toBe(upcoming);
    expect(await jwksKids(fx)).toEqual([oldKid, upcoming]);
    await expect(fx.verifier.verify(before.accessToken)).resolves.toMatchObject({ userId: before.user.id });
    await expect(fx.verifier.verify(after.body.accessToken)).resolves.toMatchObject({ userId: before.user.id });

    // Once every token the old key signed has expired, it is no longer published.
    await fx.db.query(`UPDATE signing_keys SET activates_at = now() - interval '1 hour' WHERE kid = $1`, [oldKid]);
    await fx.db.query(`UPDATE signing_keys SET activates_at = now() - interval '17 minutes' WHERE kid = $1`, [upcoming]);
    await fx.keys.reload();
    expect(await jwksKids(fx)).toEqual([upcoming]);
  });

  test('when the rotate-keys command runs, then it adds a key that every replica publishes at its next reload', async () => {
    const fx = await open('auth_keys_command');
    const command = spawnService(fileURLToPath(new URL('../src/rotate-keys.ts', import.meta.url)), {
      ...TEST_ENV, DATABASE_URL: fx.config.databaseUrl, AMQP_URL: fx.config.amqpUrl, SIGNING_KEY_ACTIVATION_DELAY: '90s', LOG_LEVEL: 'info',
    });
    expect(await command.exited).toBe(0);
    const added = command.logs.find((line) => line.msg === 'signing key added');
    expect(added).toMatchObject({ kid: expect.any(String), activatesInMs: 90_000 });
    await fx.keys.reload();
    expect(await jwksKids(fx)).toEqual([fx.keys.current().kid, added!.kid]);
  });

  test('when several replicas start on an empty database at once, then they end with one shared key', async () => {
    const database = await createTestDatabase('auth_keys_first');
    const logger = createLogger({ service: 'auth', level: 'silent' });
    const pools = Array.from({ length: 5 }, () => createPool({ connectionString: database.url, applicationName: 'replica' }, logger));
    try {
      await migrate(pools[0]!, MIGRATIONS_DIR, logger);
      const rings = await Promise.all(pools.map((db) => keyRingFromDatabase({ db, encryption, accessTokenTtlMs: 900_000, reloadIntervalMs: 60_000, logger })));
      rings.forEach((ring) => ring.stop());
      expect(new Set(rings.map((ring) => ring.current().kid)).size).toBe(1);
      expect((await pools[0]!.query('SELECT count(*)::int AS n FROM signing_keys')).rows[0].n).toBe(1);
    } finally {
      await Promise.all(pools.map((db) => db.end()));
      await database.drop();
    }
  });
});

describe('signing keys from AUTH_SIGNING_KEYS', () => {
  const privateJwk = (kid: string) => ({ ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid, alg: 'ES256' });
  const edJwk = (kid: string) => ({ ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }), kid });

  test('when the set holds a new current key and the previous one, then the first signs, both are published, and the database holds none', async () => {
    const set = { keys: [privateJwk('key-2026-02'), edJwk('key-2026-01')] };
    const fx = await open('auth_keys_env', { AUTH_SIGNING_KEYS: Buffer.from(JSON.stringify(set)).toString('base64') });
    const { accessToken, user } = await fx.register();
    expect(kidOf(accessToken)).toBe('key-2026-02');
    await expect(fx.verifier.verify(accessToken)).resolves.toMatchObject({ userId: user.id });
    const jwks = (await request(fx.app).get('/.well-known/jwks.json')).body.keys as Record<string, unknown>[];
    expect(jwks.map((k) => [k.kid, k.alg])).toEqual([['key-2026-02', 'ES256'], ['key-2026-01', 'EdDSA']]);
    expect(jwks.every((k) => !('d' in k))).toBe(true);
    expect((await fx.db.query('SELECT count(*)::int AS n FROM signing_keys')).rows[0].n).toBe(0);
  });

  test('when the set holds an unusable key, then the start fails naming it', async () => {
    const rsa = { ...generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' }), kid: 'rsa-key' };
    const encode = (keys: unknown[]) => Buffer.from(JSON.stringify({ keys })).toString('base64');
    await expect(keyRingFromEnvironment(encode([rsa]))).rejects.toThrow(/rsa-key/);
    await expect(keyRingFromEnvironment(encode([{ ...privateJwk('pub'), d: undefined }]))).rejects.toThrow(/pub has no private part/);
    await expect(keyRingFromEnvironment(encode([privateJwk('twice'), privateJwk('twice')]))).rejects.toThrow(/kid twice/);
    await expect(keyRingFromEnvironment(encode([]))).rejects.toThrow(/no keys/);
  });
});
