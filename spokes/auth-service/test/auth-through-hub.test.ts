import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import pg from 'pg';
import {
  ACCESS_TOKEN_TYPE, closeServer, createEnvelope, createJwksKeySource, createMetrics, createLogger, createRegistryReader, createRevocationMirror,
  createTokenVerifier, eventsExchange, JWKS_PATH, listen, runWithContext, serverPort, type Envelope, type RegistryReader, type RevocationMirror,
} from '@hubspoke/kit';
import {
  createTestDatabase, deleteTestTopology, eventually, freePort, publishRaw, spawnService, testAmqpUrl, testRedisUrl, uniquePrefix, type ServiceProcess,
  type TestDatabase, TEST_REGISTRY_MASTER_KEY,
} from '@hubspoke/kit/testing';
import { createApp as createHubApp } from '../../../hub-orchestrator/src/app.js';
import { observeEvents, PASSWORD, TEST_ENV } from './auth-fixture.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ADMIN_EMAIL = 'root@example.com';
const ADMIN_PASSWORD = 'an admin passphrase';
const prefix = uniquePrefix('authhub');
const logger = createLogger({ service: 'hub', level: 'silent' });

let database: TestDatabase;
let replicas: { process: ServiceProcess; url: string }[] = [];
let registry: RegistryReader;
let redis: Redis;
let revocations: RevocationMirror;
let hubServer: Server;
let hub: string;
let observer: { events: Envelope[]; close: () => Promise<void> };

async function startReplica() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const service = spawnService(ENTRY, {
    ...TEST_ENV, PORT: String(port), PUBLIC_URL: url, DATABASE_URL: database.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix,
    REGISTRY_KEY_PREFIX: prefix, ADMIN_EMAIL, ADMIN_PASSWORD, DRAIN_DELAY_MS: '1s', LOG_LEVEL: 'info',
  });
  return { process: service, url };
}

beforeAll(async () => {
  database = await createTestDatabase('auth_hub');
  // Bind the observer before the spokes start, so even the first admin's user.registered has a queue to go to.
  observer = await observeEvents(prefix);

  replicas = await Promise.all([startReplica(), startReplica()]);
  registry = createRegistryReader({ redisUrl: testRedisUrl(), keyPrefix: prefix, masterKey: TEST_REGISTRY_MASTER_KEY, logger, resyncMs: 500 });
  await registry.start();
  redis = new Redis(testRedisUrl(), { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  // As the hub's service.ts builds it: revocations answered from memory, kept current by Redis's notices.
  revocations = createRevocationMirror({ redisUrl: testRedisUrl(), keyPrefix: prefix, logger });
  await revocations.start();
  const verifier = createTokenVerifier({
    keys: createJwksKeySource({ url: `${replicas[0]!.url}${JWKS_PATH}` }), issuer: 'hubspoke-auth', audience: 'hubspoke',
  });
  const app = createHubApp({
    config: {
      trustedProxyHops: 0, upstreamTimeoutMs: 10_000, upstreamTimeoutByPrefix: {},
      breaker: { consecutiveFailures: 5, failureRatio: 0.5, minRequests: 20, windowMs: 10_000, coolDownMs: 5_000 },
      rateLimit: { keyPrefix: `${prefix}:rl`, revocationKeyPrefix: prefix, perIp: { limit: 100_000, windowMs: 60_000 }, perUser: { limit: 100_000, windowMs: 60_000 }, syncMs: 50 },
    },
    logger, metrics: createMetrics({ service: 'hub' }), lifecycle: { isDraining: () => false }, verifier, domain: { registry, redis, revocations },
  });
  hubServer = await listen(app, { port: 0, host: '127.0.0.1' });
  hub = `http://127.0.0.1:${serverPort(hubServer)}`;
  await eventually(() => registry.instances().filter((i) => i.service === 'auth' && i.status === 'ready').length === 2, 45_000, 100);
}, 60_000);

afterAll(async () => {
  for (const replica of replicas) replica.process.child.kill('SIGKILL');
  if (hubServer) await closeServer(hubServer);
  await registry?.close();
  redis?.disconnect();
  await revocations?.close();
  await observer?.close();
  await deleteTestTopology(prefix, [`${prefix}.auth.user-deleted`]);
  await database?.drop();
});

async function call(method: string, path: string, body?: unknown, token?: string) {
  const res = await fetch(`${hub}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // Response bodies are asserted field by field; a loose type keeps those assertions readable.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

describe('the auth spoke through the hub, as two replicas started together', () => {
  test('when both replicas start on an empty database, then they share one signing key and create the first admin once', async () => {
    const jwks = await Promise.all(replicas.map(async (r) => (await (await fetch(`${r.url}${JWKS_PATH}`)).json()) as { keys: { kid: string }[] }));
    expect(jwks[0]!.keys).toHaveLength(1);
    expect(jwks[1]).toEqual(jwks[0]);
    await eventually(() => observer.events.some((e) => e.type === 'user.registered' && (e.payload as { email: string }).email === ADMIN_EMAIL), 15_000);
    // One outbox row for the admin: a second user.registered would have nothing to be published from.
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM outbox WHERE type = 'user.registered' AND payload->>'email' = $1`, [ADMIN_EMAIL])
      .finally(() => db.end());
    expect(rows).toEqual([{ n: 1 }]);
    expect(observer.events.filter((e) => e.type === 'user.registered' && (e.payload as { email: string }).email === ADMIN_EMAIL)).toHaveLength(1);
  });

  test('when a client walks register → login → refresh → reuse → logout through /api/auth, then the hub routes it and verifies the tokens it issued', async () => {
    const email = `hub-${prefix}@example.com`;
    const registered = await call('POST', '/api/auth/register', { email, password: PASSWORD, name: 'Hub Ana' });
    expect(registered.status).toBe(201);
    const login = await call('POST', '/api/auth/login', { email, password: PASSWORD });
    expect(login.status).toBe(200);
    // The hub verifies the spoke's tokens with the spoke's JWKS: a user is authenticated but not an admin.
    expect((await call('GET', '/api/hub/registry', undefined, login.body.accessToken)).status).toBe(403);

    const refreshed = await call('POST', '/api/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    const refreshedAgain = await call('POST', '/api/auth/refresh', { refreshToken: refreshed.body.refreshToken });
    expect(refreshedAgain.status).toBe(200);
    const reused = await call('POST', '/api/auth/refresh', { refreshToken: login.body.refreshToken });
    expect([reused.status, reused.body.error.code]).toEqual([401, 'AUTH.REFRESH_REUSED']);
    expect((await call('POST', '/api/auth/logout', { refreshToken: registered.body.refreshToken })).status).toBe(204);
    expect((await call('POST', '/api/auth/refresh', { refreshToken: registered.body.refreshToken })).status).toBe(401);

    // The reuse revoked the family at once, access tokens included: the one it last issued is refused.
    expect((await call('GET', '/api/hub/registry', undefined, refreshedAgain.body.accessToken)).body.error.code).toBe('AUTH.TOKEN_REVOKED');
    const admin = await call('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    expect([admin.status, admin.body.user.role]).toEqual([200, 'admin']);
    const view = await call('GET', '/api/hub/registry', undefined, admin.body.accessToken);
    expect(view.status).toBe(200);
    const auth = (view.body.spokes as { service: string; readyInstances: number; publicRoutes: unknown[] }[]).find((s) => s.service === 'auth');
    expect(auth).toMatchObject({ readyInstances: 2, publicRoutes: expect.arrayContaining([{ method: 'POST', path: '/login' }]) });
  });

  test('when a client sends bad or missing input through the hub, then the spoke’s 4xx comes back in the error shape', async () => {
    const bad = await call('POST', '/api/auth/register', { email: 'nope', password: 'short', name: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'REQUEST.VALIDATION_FAILED', requestId: expect.any(String) });
    const wrong = await call('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: 'not the password' });
    expect([wrong.status, wrong.body.error.code]).toEqual([401, 'AUTH.INVALID_CREDENTIALS']);
  });

  test('when tokens are forged or misused at the hub, then it answers 401 before any spoke', async () => {
    const login = await call('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    const [header, payload] = (login.body.accessToken as string).split('.');
    const kid = JSON.parse(Buffer.from(header!, 'base64url').toString()).kid as string;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: ACCESS_TOKEN_TYPE, kid })).toString('base64url')}.${payload}.`;
    for (const token of [none, login.body.refreshToken as string, `${header}.${payload}.AAAA`]) {
      const res = await call('GET', '/api/hub/registry', undefined, token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('AUTH.TOKEN_INVALID');
    }
  });

  test('when a client signs in and opens the API reference through the hub, then both carry the security headers; the tokens are never cached', async () => {
    const login = await call('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    const notFound = await call('GET', '/api/hub/no-such-thing', undefined, login.body.accessToken);
    // The spoke's own answers carry them too, straight from the kit's app factory.
    const direct = await Promise.all([JWKS_PATH, '/no-such-route'].map((path) => fetch(`${replicas[1]!.url}${path}`)));
    for (const res of [login, notFound, ...direct]) {
      expect(Object.fromEntries(['x-content-type-options', 'x-frame-options', 'referrer-policy', 'content-security-policy'].map((h) => [h, res.headers.get(h)])))
        .toEqual({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'content-security-policy': "default-src 'none';frame-ancestors 'none'" });
      // TLS ends at the gateway, which alone adds HSTS.
      expect(res.headers.get('strict-transport-security')).toBeNull();
    }
    expect([login.status, login.headers.get('cache-control')]).toEqual([200, 'no-store']);
    expect(notFound.status).toBe(404);
    const docs = await fetch(`${hub}/api/hub/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';.*frame-ancestors 'none'/);
    expect(docs.headers.get('x-frame-options')).toBe('DENY');
  });

  // Issue 17, finding 7: logout and account deletion used to leave access tokens valid until they expired.
  let bystander: string;
  test('when a user logs out, then every access token of that session gets 401 at the hub at once, while their other session and other users are unaffected', async () => {
    const registered = await call('POST', '/api/auth/register', { email: `bye-${prefix}@example.com`, password: PASSWORD, name: 'Bye' });
    const otherSession = await call('POST', '/api/auth/login', { email: `bye-${prefix}@example.com`, password: PASSWORD });
    const rotated = await call('POST', '/api/auth/refresh', { refreshToken: registered.body.refreshToken });
    bystander = (await call('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).body.accessToken as string;
    const session = [registered.body.accessToken as string, rotated.body.accessToken as string];
    // Authenticated, not an admin: 403 from the hub's own route, where a revoked token is 401.
    for (const token of [...session, otherSession.body.accessToken]) expect((await call('GET', '/api/hub/registry', undefined, token)).status).toBe(403);

    expect((await call('POST', '/api/auth/logout', { refreshToken: rotated.body.refreshToken })).status).toBe(204);
    for (const token of session) {
      const res = await call('GET', '/api/hub/registry', undefined, token);
      expect([res.status, res.body.error.code, res.headers.get('www-authenticate')]).toEqual([401, 'AUTH.TOKEN_REVOKED', 'Bearer error="invalid_token"']);
    }
    expect((await call('GET', '/api/hub/registry', undefined, otherSession.body.accessToken)).status).toBe(403);
    expect((await call('GET', '/api/hub/registry', undefined, bystander)).status).toBe(200);
    // A stale token left in a client never locks it out of a public route: the hub drops it and the spoke answers.
    const stale = await call('POST', '/api/auth/refresh', { refreshToken: rotated.body.refreshToken }, session[0]);
    expect([stale.status, stale.body.error.code]).toEqual([401, 'AUTH.REFRESH_INVALID']);
  });

  test('when an account is deleted, then every access token of that user gets 401 at the hub, other users unaffected', async () => {
    const email = `gone-${prefix}@example.com`;
    const registered = await call('POST', '/api/auth/register', { email, password: PASSWORD, name: 'Gone' });
    const again = await call('POST', '/api/auth/login', { email, password: PASSWORD });
    const tokens = [registered.body.accessToken as string, again.body.accessToken as string];
    for (const token of tokens) expect((await call('GET', '/api/hub/registry', undefined, token)).status).toBe(403);

    const deleted = runWithContext({ requestId: `delete-${prefix}` }, () => createEnvelope({ source: 'user', type: 'user.deleted', version: 1, payload: { userId: registered.body.user.id } }));
    await publishRaw(eventsExchange(prefix), 'user.deleted.v1', Buffer.from(JSON.stringify(deleted)));
    await eventually(async () => (await call('GET', '/api/hub/registry', undefined, tokens[0])).status === 401, 10_000);
    for (const token of tokens) expect((await call('GET', '/api/hub/registry', undefined, token)).body.error.code).toBe('AUTH.TOKEN_REVOKED');
    expect((await call('GET', '/api/hub/registry', undefined, bystander)).status).toBe(200);
  });

  test('when a replica is stopped with SIGTERM, then it deregisters and exits 0 while the other keeps serving', async () => {
    const [first, second] = replicas;
    first!.process.child.kill('SIGTERM');
    expect(await first!.process.exited).toBe(0);
    await eventually(() => registry.instances().filter((i) => i.service === 'auth').length === 1, 5_000);
    const login = await call('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    expect(login.status).toBe(200);
    expect(registry.instances().find((i) => i.service === 'auth')?.url).toBe(second!.url);
  });

  test('when logins from one address exceed the spoke’s declared route limit, then the hub answers 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 12 && !limited; i++) {
      const res = await call('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited?.body.error.code).toBe('RATE_LIMIT.EXCEEDED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
