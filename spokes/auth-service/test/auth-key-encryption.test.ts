import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { decodeProtectedHeader } from 'jose';
import { authFixture, PASSWORD, TEST_ENV, type AuthFixture } from './auth-fixture.js';

const OLD_KEK = TEST_ENV.AUTH_KEY_ENCRYPTION_KEY!;
const NEW_KEK = 'the-next-key-encryption-key-abcdefghijklmnop';
let fx: AuthFixture;

beforeAll(async () => {
  fx = await authFixture('auth_key_encryption');
});
afterAll(async () => {
  await fx?.cleanup();
});

interface Row { kid: string; kek_id: string | null; private_jwk: unknown; row: string }
const rows = async (db: AuthFixture['db']) =>
  (await db.query<Row>('SELECT kid, kek_id, private_jwk, row_to_json(k)::text AS row FROM signing_keys k ORDER BY activates_at')).rows;
const kidOf = (token: string) => decodeProtectedHeader(token).kid;

describe('signing keys encrypted at rest with AUTH_KEY_ENCRYPTION_KEY', () => {
  test('when the first key is generated, then its row holds no private material, only a sealed blob and the KEK id, and the service signs and verifies', async () => {
    const { accessToken, user } = await fx.register();
    await expect(fx.verifier.verify(accessToken)).resolves.toMatchObject({ userId: user.id });
    const privateD = fx.keys.current().privateKey.export({ format: 'jwk' }).d!;
    const [row] = await rows(fx.db);
    expect(row).toMatchObject({ kid: kidOf(accessToken), kek_id: expect.stringMatching(/^[0-9a-f]{16}$/), private_jwk: null });
    expect(row!.row).not.toContain(privateD);
    expect(row!.row).not.toMatch(/"d"|PRIVATE KEY/);
  });

  test('when rows from before encryption hold a plaintext key, then the next start seals them and the same key keeps signing', async () => {
    const kid = fx.keys.current().kid;
    const plaintext = { ...fx.keys.current().privateKey.export({ format: 'jwk' }), kid, alg: 'ES256' };
    // What the auth spoke stored before migration 0007: the private JWK in plaintext.
    await fx.db.query('UPDATE signing_keys SET private_jwk = $2, private_key_sealed = NULL, kek_id = NULL WHERE kid = $1', [kid, JSON.stringify(plaintext)]);

    const restarted = await fx.restart();
    expect(restarted.lines).toContainEqual(expect.objectContaining({ msg: 'signing keys re-encrypted with the current key-encryption key', resealed: 1 }));
    expect(await rows(restarted.db)).toEqual([expect.objectContaining({ kid, private_jwk: null, kek_id: expect.any(String) })]);
    expect(restarted.keys.current().kid).toBe(kid);
  });

  test('when the KEK is rotated (new one current, old one previous, then the old one removed), then the rows are re-encrypted and tokens from before still verify', async () => {
    const before = await fx.restart();
    const email = `kek-${fx.prefix}@example.com`;
    const registered = await request(before.app).post('/register').send({ email, password: PASSWORD, name: 'Kek' });
    expect(registered.status).toBe(201);
    const oldKekId = (await rows(before.db))[0]!.kek_id;

    const rotating = await fx.restart({ AUTH_KEY_ENCRYPTION_KEY: NEW_KEK, AUTH_KEY_ENCRYPTION_KEY_PREVIOUS: OLD_KEK });
    const resealed = await rows(rotating.db);
    expect(resealed.map((r) => r.kek_id)).toEqual([expect.not.stringMatching(oldKekId!)]);
    expect(rotating.lines).toContainEqual(expect.objectContaining({ msg: 'signing keys re-encrypted with the current key-encryption key', resealed: 1 }));

    const after = await fx.restart({ AUTH_KEY_ENCRYPTION_KEY: NEW_KEK });
    const login = await request(after.app).post('/login').send({ email, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(kidOf(login.body.accessToken)).toBe(kidOf(registered.body.accessToken));
    await expect(fx.verifier.verify(registered.body.accessToken)).resolves.toMatchObject({ userId: registered.body.user.id });
    expect(after.lines.map((l) => l.msg)).not.toContain('signing keys re-encrypted with the current key-encryption key');
  });

  test('when the service starts with a KEK that did not seal the rows, then the start fails naming the key and the variable', async () => {
    await expect(fx.restart({ AUTH_KEY_ENCRYPTION_KEY: OLD_KEK })).rejects.toThrow(
      /signing key \S+ is encrypted with key-encryption key [0-9a-f]{16}, but AUTH_KEY_ENCRYPTION_KEY is [0-9a-f]{16}.*wrong AUTH_KEY_ENCRYPTION_KEY\?/);
  });
});
