import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { createJwksKeySource, createTokenVerifier, JWKS_PATH, type JsonWebKeySet, type JwksKeySourceOptions } from '../src/index.js';
import { createTestKeys, signTestToken, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../src/testing/index.js';

const INTERVAL_MS = 5_000;

/** A stand-in for the auth spoke's JWKS endpoint that counts fetches and can fail or hang on demand. */
async function startJwksServer(initial: JsonWebKeySet) {
  let jwks = initial;
  let mode: 'serve' | 'fail' | 'hang' = 'serve';
  let fetches = 0;
  const server = createServer((req, res) => {
    if (req.url !== JWKS_PATH) return void res.writeHead(404).end();
    fetches += 1;
    if (mode === 'hang') return;
    if (mode === 'fail') return void res.writeHead(500).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${JWKS_PATH}`,
    fetches: () => fetches,
    serve: (next: JsonWebKeySet) => { jwks = next; mode = 'serve'; },
    fail: () => { mode = 'fail'; },
    hang: () => { mode = 'hang'; },
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

let keyA: TestKeys;
let keyB: TestKeys;
const servers: Awaited<ReturnType<typeof startJwksServer>>[] = [];

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([createTestKeys(), createTestKeys('EdDSA')]);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

/** A key source on its own clock, which only `advance` moves: intervals and max ages pass without waiting. */
async function setup(initial: JsonWebKeySet, options: Partial<JwksKeySourceOptions> = {}) {
  const server = await startJwksServer(initial);
  servers.push(server);
  let clockMs = 0;
  const keys = createJwksKeySource({ url: server.url, minRefreshIntervalMs: INTERVAL_MS, now: () => clockMs, ...options });
  const verifier = createTokenVerifier({ keys, issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  return { server, verifier, advance: (ms: number) => void (clockMs += ms) };
}

const tokenFor = (keys: TestKeys, kid?: string) => signTestToken(keys, { sub: `user-${randomUUID()}`, role: 'user', ...(kid ? { kid } : {}) });
const setOf = (...keys: TestKeys[]) => ({ keys: keys.map((k) => k.publicJwk) });

describe('createJwksKeySource', () => {
  test('when a known kid is used again, then the key set is fetched only once', async () => {
    const { server, verifier } = await setup(setOf(keyA));
    for (let i = 0; i < 5; i += 1) await expect(verifier.verify(await tokenFor(keyA))).resolves.toMatchObject({ role: 'user' });
    expect(server.fetches()).toBe(1);
  });

  test('when a new kid appears after rotation, then one refetch finds it and old-kid tokens still verify', async () => {
    const { server, verifier, advance } = await setup(setOf(keyA));
    await verifier.verify(await tokenFor(keyA));
    server.serve(setOf(keyA, keyB));
    advance(INTERVAL_MS);
    await expect(verifier.verify(await tokenFor(keyB))).resolves.toMatchObject({ role: 'user' });
    expect(server.fetches()).toBe(2);
    await expect(verifier.verify(await tokenFor(keyA))).resolves.toMatchObject({ role: 'user' });
    expect(server.fetches()).toBe(2);
  });

  test('when a flood of unknown kids arrives, then the key set is refetched at most once per interval', async () => {
    const { server, verifier, advance } = await setup(setOf(keyA));
    await verifier.verify(await tokenFor(keyA));
    advance(INTERVAL_MS);
    const flood = async () => {
      const tokens = await Promise.all(Array.from({ length: 50 }, () => tokenFor(keyA, randomUUID())));
      return Promise.all(tokens.map((token) => verifier.verify(token).catch((error: unknown) => error)));
    };
    expect(await flood()).toEqual(Array(50).fill(expect.objectContaining({ status: 401, code: 'AUTH.TOKEN_INVALID' })));
    expect(server.fetches()).toBe(2);
    await flood();
    expect(server.fetches()).toBe(2);
  });

  test('when the JWKS endpoint is down, then known kids keep verifying and an unknown kid is a 503', async () => {
    const { server, verifier, advance } = await setup(setOf(keyA), { maxAgeMs: 50 });
    await verifier.verify(await tokenFor(keyA));
    await server.stop();
    advance(INTERVAL_MS);
    for (let i = 0; i < 3; i += 1) await expect(verifier.verify(await tokenFor(keyA))).resolves.toMatchObject({ role: 'user' });
    advance(INTERVAL_MS);
    await expect(verifier.verify(await tokenFor(keyB))).rejects.toMatchObject({ status: 503, code: 'AUTH.KEYS_UNAVAILABLE' });
    await expect(verifier.verify(await tokenFor(keyA))).resolves.toMatchObject({ role: 'user' });
  });

  test('when the JWKS endpoint answers with an error, then known kids keep verifying', async () => {
    const { server, verifier, advance } = await setup(setOf(keyA), { maxAgeMs: 50 });
    await verifier.verify(await tokenFor(keyA));
    server.fail();
    advance(INTERVAL_MS);
    await expect(verifier.verify(await tokenFor(keyB))).rejects.toMatchObject({ status: 503 });
    await expect(verifier.verify(await tokenFor(keyA))).resolves.toMatchObject({ role: 'user' });
    expect(server.fetches()).toBe(2);
  });

  test('when the JWKS endpoint hangs, then the fetch times out and the request fails fast with 503', async () => {
    const { server, verifier } = await setup(setOf(keyA), { timeoutMs: 200 });
    server.hang();
    const started = Date.now();
    await expect(verifier.verify(await tokenFor(keyA))).rejects.toMatchObject({ status: 503, code: 'AUTH.KEYS_UNAVAILABLE' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  test('when a key is withdrawn from the set, then after the max age its tokens stop verifying', async () => {
    const { server, verifier, advance } = await setup(setOf(keyA), { maxAgeMs: 100 });
    await verifier.verify(await tokenFor(keyA));
    server.serve(setOf(keyB));
    advance(INTERVAL_MS);
    // A stale known key still answers at once; the refresh it starts runs in the background.
    await expect(verifier.verify(await tokenFor(keyA))).resolves.toMatchObject({ role: 'user' });
    const tokenA = await tokenFor(keyA);
    await expect.poll(() => verifier.verify(tokenA).then(() => 'verified', (error: { code: string }) => error.code)).toBe('AUTH.TOKEN_INVALID');
    expect(server.fetches()).toBe(2);
  });
});
