import { base64url, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, test } from 'vitest';
import { createStaticKeySource, createTokenVerifier, type TokenVerifier } from '../src/index.js';
import { createTestKeys, signTestToken, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../src/testing/index.js';

let keys: TestKeys;
let verifier: TokenVerifier;

beforeAll(async () => {
  keys = await createTestKeys();
  verifier = createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
});

const rejection = (status: number, code: string) => expect.objectContaining({ status, code });
const invalid = rejection(401, 'AUTH.TOKEN_INVALID');
const encodePart = (value: object) => base64url.encode(JSON.stringify(value));

function unsignedClaims() {
  const now = Math.floor(Date.now() / 1000);
  return { sub: 'user-1', role: 'admin', iss: TEST_ISSUER, aud: TEST_AUDIENCE, iat: now, exp: now + 300, jti: 'token-1' };
}

describe('createTokenVerifier', () => {
  test('when the token is valid, then it resolves the user id, role and claims', async () => {
    const token = await signTestToken(keys, { sub: 'user-1', role: 'admin' });
    await expect(verifier.verify(token)).resolves.toMatchObject({
      userId: 'user-1', role: 'admin', tokenId: expect.any(String), issuedAt: expect.any(Number), claims: { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'user-1', role: 'admin' },
    });
  });

  test('when the token is signed with EdDSA, then it verifies too', async () => {
    const edKeys = await createTestKeys('EdDSA');
    const edVerifier = createTokenVerifier({ keys: createStaticKeySource(edKeys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    await expect(edVerifier.verify(await signTestToken(edKeys, { sub: 'u', role: 'user' }))).resolves.toMatchObject({ userId: 'u', role: 'user' });
  });

  test('when the token has alg none, then it is rejected with 401', async () => {
    const token = `${encodePart({ alg: 'none', typ: 'at+jwt', kid: keys.kid })}.${encodePart(unsignedClaims())}.`;
    await expect(verifier.verify(token)).rejects.toEqual(invalid);
  });

  test('when the token is signed with HS256 using the public key, then it is rejected with 401', async () => {
    const claims = unsignedClaims();
    const secrets = [new TextEncoder().encode(JSON.stringify(keys.publicJwk)), base64url.decode(keys.publicJwk.x!)];
    for (const secret of secrets) {
      const token = await new SignJWT({ role: claims.role }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: keys.kid })
        .setSubject(claims.sub).setIssuer(claims.iss).setAudience(claims.aud).setIssuedAt().setExpirationTime('5m').sign(secret);
      await expect(verifier.verify(token)).rejects.toEqual(invalid);
    }
  });

  test('when the token uses an asymmetric algorithm outside the allow-list, then it is rejected with 401', async () => {
    const es384 = await createTestKeys('ES384');
    const lenientKeys = createStaticKeySource({ keys: [...keys.jwks.keys, ...es384.jwks.keys] });
    const strict = createTokenVerifier({ keys: lenientKeys, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
    await expect(strict.verify(await signTestToken(es384, { sub: 'u', role: 'user' }))).rejects.toEqual(invalid);
  });

  test('when the header names another key\'s kid, then it is rejected with 401', async () => {
    const other = await createTestKeys('EdDSA');
    await expect(verifier.verify(await signTestToken(other, { sub: 'u', role: 'user', kid: keys.kid }))).rejects.toEqual(invalid);
  });

  test('when the issuer is wrong, then it is rejected with 401', async () => {
    await expect(verifier.verify(await signTestToken(keys, { sub: 'u', role: 'user', issuer: 'someone-else' }))).rejects.toEqual(invalid);
  });

  test('when the audience is wrong, then it is rejected with 401', async () => {
    await expect(verifier.verify(await signTestToken(keys, { sub: 'u', role: 'user', audience: 'another-app' }))).rejects.toEqual(invalid);
  });

  test('when the token has expired beyond the clock tolerance, then it is rejected with 401 AUTH.TOKEN_EXPIRED', async () => {
    const token = await signTestToken(keys, { sub: 'u', role: 'user', expiresIn: -30 });
    await expect(verifier.verify(token)).rejects.toEqual(rejection(401, 'AUTH.TOKEN_EXPIRED'));
  });

  test('when the token expired within the clock tolerance, then it still verifies', async () => {
    const token = await signTestToken(keys, { sub: 'u', role: 'user', expiresIn: -2 });
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'u' });
  });

  test('when the token is not yet valid, then it is rejected with 401', async () => {
    await expect(verifier.verify(await signTestToken(keys, { sub: 'u', role: 'user', notBefore: 120 }))).rejects.toEqual(invalid);
  });

  test('when the token claims to be issued in the future beyond the clock tolerance, then it is rejected with 401', async () => {
    await expect(verifier.verify(await signTestToken(keys, { sub: 'user-1', role: 'user', issuedAt: 3600 }))).rejects.toEqual(invalid);
    await expect(verifier.verify(await signTestToken(keys, { sub: 'user-1', role: 'user', issuedAt: 60 }))).rejects.toEqual(invalid);
    await expect(verifier.verify(await signTestToken(keys, { sub: 'user-1', role: 'user', issuedAt: 3 }))).resolves.toMatchObject({ userId: 'user-1' });
  });

  test('when the token has no iat or no jti, then it is rejected with 401: revocation needs both', async () => {
    await expect(verifier.verify(await signTestToken(keys, { sub: 'user-1', role: 'user', issuedAt: null }))).rejects.toEqual(invalid);
    await expect(verifier.verify(await signTestToken(keys, { sub: 'user-1', role: 'user', tokenId: null }))).rejects.toEqual(invalid);
  });

  test('when the token has no exp claim, then it is rejected with 401', async () => {
    const token = await new SignJWT({ role: 'user' }).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys.kid })
      .setSubject('u').setIssuer(TEST_ISSUER).setAudience(TEST_AUDIENCE).setIssuedAt().sign(keys.privateKey);
    await expect(verifier.verify(token)).rejects.toEqual(invalid);
  });

  test('when the kid is missing, then it is rejected with 401', async () => {
    await expect(verifier.verify(await signTestToken(keys, { sub: 'u', role: 'user', kid: null }))).rejects.toEqual(invalid);
  });

  test('when the kid is unknown, then it is rejected with 401', async () => {
    await expect(verifier.verify(await signTestToken(keys, { sub: 'u', role: 'user', kid: 'no-such-kid' }))).rejects.toEqual(invalid);
  });

  test('when the sub claim is missing, then it is rejected with 401', async () => {
    await expect(verifier.verify(await signTestToken(keys, { role: 'user' }))).rejects.toEqual(invalid);
  });

  test('when the role claim is missing or not a known role, then it is rejected with 401', async () => {
    await expect(verifier.verify(await signTestToken(keys, { sub: 'u' }))).rejects.toEqual(invalid);
    await expect(verifier.verify(await signTestToken(keys, { sub: 'u', role: 'superuser' }))).rejects.toEqual(invalid);
  });

  test('when the typ is missing or another type, then it is rejected with 401', async () => {
    for (const typ of [null, 'JWT', 'refresh+jwt', 'id+jwt']) {
      await expect(verifier.verify(await signTestToken(keys, { sub: 'u', role: 'user', typ }))).rejects.toEqual(invalid);
    }
  });

  test('when the typ is the access type as a full media type, then it verifies', async () => {
    const token = await signTestToken(keys, { sub: 'u', role: 'user', typ: 'application/AT+JWT' });
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'u' });
  });

  test('when the payload is changed after signing, then it is rejected with 401', async () => {
    const [header, , signature] = (await signTestToken(keys, { sub: 'user-1', role: 'user' })).split('.');
    const forged = `${header}.${encodePart({ ...unsignedClaims(), sub: 'user-1', role: 'admin' })}.${signature}`;
    await expect(verifier.verify(forged)).rejects.toEqual(invalid);
  });

  test('when the signature is altered, then it is rejected with 401', async () => {
    const token = await signTestToken(keys, { sub: 'u', role: 'user' });
    // Flip the signature's first character: its last one also carries unused padding bits, so changing it
    // can leave the decoded signature intact (a flake seen in CI).
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const altered = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
    await expect(verifier.verify(`${header}.${payload}.${altered}`)).rejects.toEqual(invalid);
  });

  test('when the token is garbage or huge, then it is rejected with 401', async () => {
    for (const token of ['', 'abc', 'a.b.c', `${encodePart({ alg: 'ES256' })}.x`, 'x'.repeat(10_000)]) {
      await expect(verifier.verify(token)).rejects.toEqual(invalid);
    }
  });

  test('when a rejection is raised, then its message says nothing about why beyond the code', async () => {
    const error = await verifier.verify(await signTestToken(keys, { sub: 'u', role: 'user', audience: 'x' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'The access token is invalid', details: undefined });
  });
});

describe('createStaticKeySource', () => {
  test('when the key set holds private or secret key material, then it is refused', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'k' };
    expect(() => createStaticKeySource({ keys: [privateJwk] })).toThrow(/private or secret/);
    expect(() => createStaticKeySource({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'k' }] })).toThrow(/private or secret/);
  });
});
