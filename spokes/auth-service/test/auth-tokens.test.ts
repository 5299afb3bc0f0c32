import { createPublicKey, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { SignJWT } from 'jose';
import { ACCESS_TOKEN_TYPE, createStaticKeySource, createTokenVerifier, type AppError } from '@hubspoke/kit';
import { createTestKeys, signTestToken } from '@hubspoke/kit/testing';
import { authFixture, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;
let user: Awaited<ReturnType<AuthFixture['register']>>;

beforeAll(async () => {
  fx = await authFixture('auth_tokens');
  user = await fx.register();
});
afterAll(async () => {
  await fx?.cleanup();
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = () => ({ sub: user.user.id, role: 'user', iss: fx.config.tokens.issuer, aud: fx.config.tokens.audience, iat: now(), exp: now() + 300, jti: randomUUID() });

/** Signs with the spoke's own current key, so only the claim or header under test is wrong. */
function signWithSpokeKey(payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const key = fx.keys.current();
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE, ...header }).sign(key.privateKey);
}

async function rejection(token: string): Promise<string> {
  const error = (await fx.verifier.verify(token).then(() => undefined, (e: unknown) => e)) as AppError | undefined;
  expect(error, 'the token was accepted').toBeDefined();
  expect(error!.status).toBe(401);
  return error!.code;
}

describe('access tokens, as the kit verifier sees them through this spoke’s JWKS', () => {
  test('when the spoke signs a token, then it verifies, with the claims of the token contract', async () => {
    const { userId, role, claims: verified } = await fx.verifier.verify(user.accessToken);
    expect({ userId, role }).toEqual({ userId: user.user.id, role: 'user' });
    expect(verified).toMatchObject({ iss: 'hubspoke-auth', aud: 'hubspoke', jti: expect.any(String) });
    expect(verified.exp! - verified.iat!).toBe(900);
  });

  test('when a token says alg none, then it is rejected', async () => {
    const token = `${b64({ alg: 'none', typ: ACCESS_TOKEN_TYPE, kid: fx.keys.current().kid })}.${b64(claims())}.`;
    expect(await rejection(token)).toBe('AUTH.TOKEN_INVALID');
  });

  test('when a token is HS256-signed with the public key as the secret, then it is rejected', async () => {
    const publicPem = createPublicKey(fx.keys.current().privateKey).export({ format: 'pem', type: 'spki' });
    const jwk = JSON.stringify(fx.keys.current().publicJwk);
    for (const secret of [publicPem, jwk]) {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: fx.keys.current().kid, typ: ACCESS_TOKEN_TYPE })
        .sign(new TextEncoder().encode(String(secret)));
      expect(await rejection(token)).toBe('AUTH.TOKEN_INVALID');
    }
  });

  test('when a signed token is tampered with, then it is rejected', async () => {
    const [header, , signature] = user.accessToken.split('.');
    const forged = `${header}.${b64({ ...claims(), role: 'admin' })}.${signature}`;
    expect(await rejection(forged)).toBe('AUTH.TOKEN_INVALID');
    // The signature's first character: its last ones carry unused padding bits and may decode unchanged.
    const flipped = `${header}.${user.accessToken.split('.')[1]}.${signature![0] === 'A' ? 'B' : 'A'}${signature!.slice(1)}`;
    expect(await rejection(flipped)).toBe('AUTH.TOKEN_INVALID');
  });

  test('when a token has expired, then it is rejected as expired', async () => {
    const token = await signWithSpokeKey({ ...claims(), iat: now() - 1000, exp: now() - 60 });
    expect(await rejection(token)).toBe('AUTH.TOKEN_EXPIRED');
  });

  test('when a refresh token is used as an access token, then it is rejected', async () => {
    expect(await rejection(user.refreshToken)).toBe('AUTH.TOKEN_INVALID');
  });

  test('when issuer, audience or typ are not this platform’s access token, then it is rejected', async () => {
    expect(await rejection(await signWithSpokeKey({ ...claims(), iss: 'someone-else' }))).toBe('AUTH.TOKEN_INVALID');
    expect(await rejection(await signWithSpokeKey({ ...claims(), aud: 'another-app' }))).toBe('AUTH.TOKEN_INVALID');
    expect(await rejection(await signWithSpokeKey(claims(), { typ: 'JWT' }))).toBe('AUTH.TOKEN_INVALID');
  });

  test('when a token is signed by a key the spoke never published, then it is rejected', async () => {
    const stranger = await createTestKeys();
    const token = await signTestToken(stranger, { sub: user.user.id, role: 'admin', issuer: fx.config.tokens.issuer, audience: fx.config.tokens.audience });
    expect(await rejection(token)).toBe('AUTH.TOKEN_INVALID');
    const borrowedKid = await signTestToken(stranger, { sub: user.user.id, role: 'admin', kid: fx.keys.current().kid, issuer: fx.config.tokens.issuer, audience: fx.config.tokens.audience });
    expect(await rejection(borrowedKid)).toBe('AUTH.TOKEN_INVALID');
  });

  test('when the JWKS is served, then a static key source built from it verifies the spoke’s tokens too', async () => {
    const jwks = (await request(fx.app).get('/.well-known/jwks.json')).body;
    const pinned = createTokenVerifier({ keys: createStaticKeySource(jwks), issuer: fx.config.tokens.issuer, audience: fx.config.tokens.audience });
    await expect(pinned.verify(user.accessToken)).resolves.toMatchObject({ userId: user.user.id });
  });
});
