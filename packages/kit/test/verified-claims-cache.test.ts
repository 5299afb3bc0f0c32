import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { cacheVerifiedClaims, createStaticKeySource, createTokenVerifier, type TokenVerifier } from '../src/index.js';
import { createTestKeys, signTestToken, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../src/testing/index.js';

let keys: TestKeys;
let inner: TokenVerifier;

beforeAll(async () => {
  keys = await createTestKeys();
  inner = createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
});

afterEach(() => {
  vi.useRealTimers();
});

/** The real verifier behind the cache, counting the verifications that reach it. */
function counted(options: Parameters<typeof cacheVerifiedClaims>[1] = {}) {
  const calls: string[] = [];
  const verifier = cacheVerifiedClaims({ verify: (token) => (calls.push(token), inner.verify(token)) }, options);
  return { verifier, calls };
}

const token = (sub = 'user-1', expiresIn?: number) => signTestToken(keys, { sub, role: 'user', ...(expiresIn === undefined ? {} : { expiresIn }) });

describe('cacheVerifiedClaims', () => {
  test('when the same token comes again, then its claims are served without verifying it again', async () => {
    const { verifier, calls } = counted();
    const t = await token();
    await expect(verifier.verify(t)).resolves.toMatchObject({ userId: 'user-1', role: 'user' });
    await expect(verifier.verify(t)).resolves.toMatchObject({ userId: 'user-1', role: 'user' });
    expect(calls).toHaveLength(1);
  });

  test('when a cached token reaches its exp, then it is verified again and rejected as expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, calls } = counted();
    const t = await token('user-1', 60);
    await verifier.verify(t);
    vi.setSystemTime(Date.now() + 59_500); // inside the margin before exp: no longer served from the cache
    await expect(verifier.verify(t)).resolves.toMatchObject({ userId: 'user-1' });
    expect(calls).toHaveLength(2);
    vi.setSystemTime(Date.now() + 10_000); // past exp and the verifier's clock tolerance
    await expect(verifier.verify(t)).rejects.toMatchObject({ status: 401, code: 'AUTH.TOKEN_EXPIRED' });
  });

  test('when a token differs from a cached one by one byte, then it is verified afresh and rejected', async () => {
    const { verifier, calls } = counted();
    const t = await token();
    await verifier.verify(t);
    const signatureAt = t.lastIndexOf('.') + 10;
    const forged = t.slice(0, signatureAt) + (t[signatureAt] === 'A' ? 'B' : 'A') + t.slice(signatureAt + 1);
    await expect(verifier.verify(forged)).rejects.toMatchObject({ status: 401, code: 'AUTH.TOKEN_INVALID' });
    expect(calls).toEqual([t, forged]);
  });

  test('when more tokens come than it holds, then the least recently used is verified again', async () => {
    const { verifier, calls } = counted({ maxEntries: 2 });
    const [a, b, c] = await Promise.all([token('a'), token('b'), token('c')]);
    await verifier.verify(a);
    await verifier.verify(b);
    await verifier.verify(a); // a is now the most recently used
    await verifier.verify(c); // drops b
    await verifier.verify(a);
    await verifier.verify(b);
    expect(calls).toEqual([a, b, c, b]);
  });

  test('when an entry is older than maxAgeMs, then the token is verified again even before its exp', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { verifier, calls } = counted({ maxAgeMs: 1_000 });
    const t = await token('user-1', 300);
    await verifier.verify(t);
    vi.setSystemTime(Date.now() + 1_001);
    await verifier.verify(t);
    expect(calls).toHaveLength(2);
  });

  test('when a token is rejected, then the rejection is not kept: it is verified each time', async () => {
    const { verifier, calls } = counted();
    const expired = await token('user-1', -60);
    await expect(verifier.verify(expired)).rejects.toMatchObject({ code: 'AUTH.TOKEN_EXPIRED' });
    await expect(verifier.verify(expired)).rejects.toMatchObject({ code: 'AUTH.TOKEN_EXPIRED' });
    expect(calls).toHaveLength(2);
  });

  test('when the cached claims are handed out, then no caller can change them for the next', async () => {
    const { verifier } = counted();
    const t = await token();
    const first = await verifier.verify(t);
    expect(() => Object.assign(first.claims, { role: 'admin' })).toThrow(TypeError);
    await expect(verifier.verify(t)).resolves.toMatchObject({ role: 'user', claims: { role: 'user' } });
  });
});
