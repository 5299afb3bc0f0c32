import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import {
  closeServer, createLogger, createMetrics, createStaticKeySource, createTokenVerifier, listen, serverPort, type InstanceRecord, type RegistryState, type TokenVerifier,
} from '@hubspoke/kit';
import { createTestKeys, eventually, signTestToken, TEST_AUDIENCE, TEST_ISSUER, testRedisUrl, uniquePrefix, type TestKeys } from '@hubspoke/kit/testing';
import express, { type Express } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApp } from '../src/app.js';

const LOGIN_LIMIT = { method: 'POST', path: '/login', limit: 2, windowMs: 60_000 };
const SYNC_MS = 20;
/** Longer than a counter stays fresh (2 × SYNC_MS): the next request is checked in Redis, exactly across replicas. */
const quietSpell = () => new Promise((resolve) => setTimeout(resolve, 5 * SYNC_MS));

function record(service: string, url: string, extra: Partial<InstanceRecord> = {}): InstanceRecord {
  return {
    service, instanceId: `${service}-${randomUUID()}`, url, routePrefix: service, version: '1', publicRoutes: [], routeLimits: [],
    taskTypes: [], tasks: [], status: 'ready', heartbeatAt: Date.now(), ttlMs: 30_000, ...extra,
  };
}

describe('edge auth and rate limits through two hub replicas sharing Redis', () => {
  let spoke: Server;
  let keys: TestKeys;
  let hubs: Express[];
  const clients: Redis[] = [];
  let signatureChecks = 0;
  let keyPrefix: string;

  beforeAll(async () => {
    const echo = express();
    echo.use((req, res) => {
      res.json({ path: req.path, headers: req.headers });
    });
    spoke = await listen(echo, { port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${serverPort(spoke)}`;
    const instances = [
      record('auth', url, { publicRoutes: [{ method: 'POST', path: '/login' }, { method: 'GET', path: '/jwks' }], routeLimits: [LOGIN_LIMIT] }),
      record('users', url),
    ];
    keys = await createTestKeys();
    keyPrefix = uniquePrefix('rl-hub');
    const logger = createLogger({ service: 'hub-test', level: 'silent' });
    hubs = [0, 1].map(() => {
      const redis = new Redis(testRedisUrl(), { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
      clients.push(redis);
      return createApp({
        config: {
          trustedProxyHops: 1, upstreamTimeoutMs: 5_000, upstreamTimeoutByPrefix: {},
          breaker: { consecutiveFailures: 5, failureRatio: 0.5, minRequests: 20, windowMs: 10_000, coolDownMs: 5_000 },
          rateLimit: { keyPrefix, revocationKeyPrefix: keyPrefix, perIp: { limit: 5, windowMs: 60_000 }, perUser: { limit: 100, windowMs: 60_000 }, syncMs: SYNC_MS },
        },
        logger,
        metrics: createMetrics({ service: 'hub' }),
        lifecycle: { isDraining: () => false },
        verifier: countingVerifier(createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE })),
        domain: {
          registry: { instances: () => instances, onChange: () => () => undefined, state: () => ({ connected: true, downSince: null, lastSyncAt: Date.now(), rejected: {} as RegistryState['rejected'] }) },
          redis,
        },
      });
    });
    await Promise.all(clients.map((redis) => new Promise((resolve) => redis.once('ready', resolve))));
  });

  afterAll(async () => {
    for (const redis of clients) redis.disconnect();
    await closeServer(spoke);
  });

  const hub = (i: number) => hubs[i % hubs.length] as Express;
  const countingVerifier = (verifier: TokenVerifier): TokenVerifier => ({
    verify: (token) => {
      signatureChecks++;
      return verifier.verify(token);
    },
  });

  test('when a client forges X-User-* and X-Forwarded-For, then the spoke sees only what the hub vouches for', async () => {
    const userId = `user-${randomUUID()}`;
    const token = await signTestToken(keys, { sub: userId, role: 'user' });
    const res = await request(hub(0)).get('/api/users/me').set('Authorization', `Bearer ${token}`)
      .set('X-User-Id', 'admin-1').set('X-User-Role', 'admin').set('X-Forwarded-For', '6.6.6.6, 203.0.113.20');
    expect(res.status).toBe(200);
    expect(res.body.path).toBe('/me');
    expect(res.body.headers).toMatchObject({ 'x-user-id': userId, 'x-user-role': 'user', authorization: `Bearer ${token}` });
    expect(res.body.headers['x-forwarded-for']).toMatch(/^203\.0\.113\.20, /);
  });

  test('when a private route gets no token, then the hub answers 401 itself', async () => {
    const res = await request(hub(1)).get('/api/users/me').set('X-Forwarded-For', '203.0.113.21');
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'AUTH.TOKEN_MISSING' } } });
  });

  test('when logins from one address alternate between replicas, then the route limit counts them together', async () => {
    const statuses: number[] = [];
    for (let i = 0; i <= LOGIN_LIMIT.limit; i++) {
      statuses.push((await request(hub(i)).post('/api/auth/login').set('X-Forwarded-For', `10.0.0.${i}, 203.0.113.22`)).status);
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  test('when one address spreads requests over both replicas, then the per-IP limit is shared', async () => {
    const responses = [];
    for (let i = 0; i < 6; i++) {
      responses.push(await request(hub(i)).get('/api/auth/jwks').set('X-Forwarded-For', '203.0.113.23'));
      await quietSpell();
    }
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(responses.map((r) => r.headers['ratelimit-remaining'])).toEqual(['4', '3', '2', '1', '0', '0']);
  });

  // Issue 17, finding 3: the limit used to run after edge auth and route resolution, so neither counted.
  test('when one address sends a burst of forged tokens, then it gets 429 with Retry-After before any signature check, while another address is unaffected', async () => {
    const forged = `${(await signTestToken(keys, { sub: 'victim-1', role: 'admin' })).slice(0, -4)}AAAA`;
    const answers = [];
    for (let i = 0; i < 7; i++) {
      answers.push(await request(hub(i)).get('/api/users/me').set('Authorization', `Bearer ${forged}`).set('X-Forwarded-For', '203.0.113.40').set('X-Request-Id', `forged-${i}`));
    }
    expect(answers.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429, 429]);
    const checksBefore = signatureChecks;
    const limited = await request(hub(0)).get('/api/users/me').set('Authorization', `Bearer ${forged}`).set('X-Forwarded-For', '203.0.113.40').set('X-Request-Id', 'forged-limited');
    expect(limited.body).toEqual({ error: { code: 'RATE_LIMIT.EXCEEDED', message: expect.any(String), requestId: 'forged-limited' } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(signatureChecks).toBe(checksBefore);

    const other = await request(hub(1)).get('/api/users/me').set('Authorization', `Bearer ${forged}`).set('X-Forwarded-For', '203.0.113.41');
    expect(other).toMatchObject({ status: 401, body: { error: { code: 'AUTH.TOKEN_INVALID' } } });
    // The forged tokens named a real user: none of them spent that user's quota, which only a verified token counts in.
    expect(await clients[0]!.keys(`${keyPrefix}:user:victim-1:*`)).toEqual([]);
    const victim = await signTestToken(keys, { sub: 'victim-1', role: 'admin' });
    expect((await request(hub(0)).get('/api/users/me').set('Authorization', `Bearer ${victim}`).set('X-Forwarded-For', '203.0.113.42')).status).toBe(200);
    await eventually(async () => (await clients[0]!.keys(`${keyPrefix}:user:victim-1:*`)).length === 1, 2_000);
  });

  test('when one address probes unknown prefixes, then it gets 429 with Retry-After in the error shape, while another address still gets 404', async () => {
    const statuses: number[] = [];
    let limited: request.Response | undefined;
    for (let i = 0; i < 7; i++) {
      const res = await request(hub(i)).get(`/api/probe-${i}/admin`).set('X-Forwarded-For', '203.0.113.43').set('X-Request-Id', `probe-${i}`);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      await quietSpell();
    }
    expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429]);
    expect(limited?.body).toEqual({ error: { code: 'RATE_LIMIT.EXCEEDED', message: expect.any(String), requestId: 'probe-6' } });
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await request(hub(0)).get('/api/probe-x/admin').set('X-Forwarded-For', '203.0.113.44')).status).toBe(404);
  });
});
