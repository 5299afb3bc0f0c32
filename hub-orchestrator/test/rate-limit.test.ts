import { randomUUID } from 'node:crypto';
import { createLogger } from '@hubspoke/kit';
import { signTestToken, testRedisUrl, uniquePrefix } from '@hubspoke/kit/testing';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterAll, describe, expect, test } from 'vitest';
import { createRateLimiter, type RateLimiterOptions } from '../src/rate-limit/rate-limiter.js';
import { edgePipeline, LOGIN_LIMIT } from './edge-pipeline.js';

const clients: Redis[] = [];
const logger = createLogger({ service: 'hub-test', level: 'silent' });

/** One hub replica: its own Redis connection, built the way main.ts builds it. */
function replicaRedis(): Redis {
  const redis = new Redis(testRedisUrl(), { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
  clients.push(redis);
  return redis;
}

async function hub(keyPrefix: string, options: Partial<RateLimiterOptions> = {}) {
  const redis = replicaRedis();
  await new Promise((resolve) => redis.once('ready', resolve));
  const registry = new Registry();
  const limiter = createRateLimiter({ redis, keyPrefix, logger, trustedHops: 1, registry, ...options });
  return { ...(await edgePipeline({ limiter })), registry, limiter };
}

/** Each replica sends its counts, then each learns the others' (one pass alone leaves the first behind the last). */
async function syncReplicas(replicas: { limiter: { flush: () => Promise<void> } }[]): Promise<void> {
  for (const replica of [...replicas, ...replicas]) await replica.limiter.flush();
}

// Distinct per call: a random pick could hand "another client" the same address (a 1-in-250 flake seen in CI).
let lastAddress = 0;
const clientAddress = () => `198.51.100.${(lastAddress++ % 250) + 1}`;

afterAll(() => {
  for (const redis of clients) redis.disconnect();
});

describe('rate limits', () => {
  test('when a client exceeds its per-IP limit, then it gets 429 with Retry-After and RateLimit headers', async () => {
    const { app, registry } = await hub(uniquePrefix('rl'), { perIp: { limit: 3, windowMs: 60_000 } });
    const ip = clientAddress();
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(app).post('/api/auth/logout').set('X-Forwarded-For', ip);
      remaining.push(res.headers['ratelimit-remaining'] as string);
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const res = await request(app).post('/api/auth/logout').set('X-Forwarded-For', ip).set('X-Request-Id', 'req-limited');
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ error: { code: 'RATE_LIMIT.EXCEEDED', message: expect.any(String), requestId: 'req-limited' } });
    expect(res.headers).toMatchObject({ 'ratelimit-limit': '3', 'ratelimit-remaining': '0' });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(120);
    expect(await registry.metrics()).toMatch(/hub_rate_limited_total\{scope="ip"\} 1/);

    const other = await request(app).post('/api/auth/logout').set('X-Forwarded-For', clientAddress());
    expect(other.status).not.toBe(429);
  });

  test('when a limited client waits as long as Retry-After says, then it is let through again', async () => {
    const { app } = await hub(uniquePrefix('rl'), { perIp: { limit: 2, windowMs: 1000 } });
    const ip = clientAddress();
    for (let i = 0; i < 2; i++) await request(app).post('/api/auth/logout').set('X-Forwarded-For', ip);
    const limited = await request(app).post('/api/auth/logout').set('X-Forwarded-For', ip);
    expect(limited.status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, Number(limited.headers['retry-after']) * 1000));
    expect((await request(app).post('/api/auth/logout').set('X-Forwarded-For', ip)).status).toBe(200);
  });

  test('when a client forges X-Forwarded-For, then the address nginx appended is still the one counted', async () => {
    const { app } = await hub(uniquePrefix('rl'), { perIp: { limit: 2, windowMs: 60_000 } });
    const ip = clientAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(app).post('/api/auth/logout').set('X-Forwarded-For', `10.9.${i}.1, ${randomUUID()}, ${ip}`);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
  });

  test('when one user spreads requests over many addresses, then the per-user limit stops them', async () => {
    const { app, keys, registry } = await hub(uniquePrefix('rl'), { perIp: { limit: 100, windowMs: 60_000 }, perUser: { limit: 2, windowMs: 60_000 } });
    const token = await signTestToken(keys, { sub: `user-${randomUUID()}`, role: 'user' });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(app).get('/api/users/me').set('X-Forwarded-For', clientAddress()).set('Authorization', `Bearer ${token}`);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(await registry.metrics()).toMatch(/hub_rate_limited_total\{scope="user"\} 1/);

    const otherUser = await signTestToken(keys, { sub: `user-${randomUUID()}`, role: 'user' });
    const res = await request(app).get('/api/users/me').set('X-Forwarded-For', clientAddress()).set('Authorization', `Bearer ${otherUser}`);
    expect(res.status).toBe(200);
  });

  test('when a route declares a stricter limit, then it applies there per IP while other routes stay open', async () => {
    const { app } = await hub(uniquePrefix('rl'), { perIp: { limit: 100, windowMs: 60_000 } });
    const ip = clientAddress();
    const statuses: number[] = [];
    for (let i = 0; i <= LOGIN_LIMIT.limit; i++) statuses.push((await request(app).post('/api/auth/login').set('X-Forwarded-For', ip)).status);
    expect(statuses).toEqual([200, 200, 429]);

    const limited = await request(app).post('/api/auth/login').set('X-Forwarded-For', ip);
    expect(limited.headers['ratelimit-limit']).toBe(String(LOGIN_LIMIT.limit));
    expect((await request(app).post('/api/auth/login').set('X-Forwarded-For', clientAddress())).status).toBe(200);
    expect((await request(app).get('/api/auth/jwks').set('X-Forwarded-For', ip)).status).toBe(200);
  });

  test('when two hub replicas with their own Redis connections share the key prefix, then each sees the other\'s count from its next sync', async () => {
    const keyPrefix = uniquePrefix('rl');
    const replicas = [await hub(keyPrefix, { perIp: { limit: 4, windowMs: 60_000 } }), await hub(keyPrefix, { perIp: { limit: 4, windowMs: 60_000 } })];
    const ip = clientAddress();
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 6; i++) {
      const replica = replicas[i % 2] as (typeof replicas)[number];
      const res = await request(replica.app).post('/api/auth/logout').set('X-Forwarded-For', ip);
      statuses.push(res.status);
      remaining.push(res.headers['ratelimit-remaining'] as string);
      await syncReplicas(replicas);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(remaining).toEqual(['3', '2', '1', '0', '0', '0']);
  });

  test('when many requests race across replicas between two syncs, then each replica stops at the limit and, once synced, both refuse', async () => {
    const keyPrefix = uniquePrefix('rl');
    const replicas = [await hub(keyPrefix, { perIp: { limit: 10, windowMs: 60_000 } }), await hub(keyPrefix, { perIp: { limit: 10, windowMs: 60_000 } })];
    const ip = clientAddress();
    const race = () => Promise.all(
      Array.from({ length: 30 }, (_, i) => request((replicas[i % 2] as (typeof replicas)[number]).app).post('/api/auth/logout').set('X-Forwarded-For', ip)),
    );
    // The stated bound: the limit, plus what the other replica let through before they synced; never 2 × the limit.
    const passed = (await race()).filter((r) => r.status === 200).length;
    expect(passed).toBeGreaterThanOrEqual(10);
    expect(passed).toBeLessThanOrEqual(20);
    await syncReplicas(replicas);
    expect((await race()).filter((r) => r.status === 200)).toHaveLength(0);
    const [admin] = clients as [Redis];
    expect(Number(await admin.get(`${keyPrefix}:ip:${ip}:${Math.floor(Date.now() / 60_000)}`))).toBe(passed);
  });

  test('when one client\'s requests are checked in memory and in Redis by turns, then exactly the limit passes', async () => {
    // No sync during the test: the counts of the requests checked in memory stay this replica's alone.
    const { app, keys } = await hub(uniquePrefix('rl'), { perIp: { limit: 6, windowMs: 60_000 }, syncMs: 10_000 });
    const ip = clientAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      // A token naming a user never seen is checked in Redis; a request without one, once the address is known, in memory.
      const token = i % 2 === 1 ? await signTestToken(keys, { sub: `user-${randomUUID()}`, role: 'user' }) : undefined;
      const res = await request(app).get('/api/users/me').set('X-Forwarded-For', ip).set('Authorization', token ? `Bearer ${token}` : '');
      statuses.push(res.status === 401 ? 200 : res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429, 429, 429]);
  });

  test('when replicas check every request in Redis (syncMs 0), then exactly the limit gets through a race', async () => {
    const keyPrefix = uniquePrefix('rl');
    const exact = { perIp: { limit: 10, windowMs: 60_000 }, syncMs: 0 };
    const replicas = [await hub(keyPrefix, exact), await hub(keyPrefix, exact)];
    const ip = clientAddress();
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => request((replicas[i % 2] as (typeof replicas)[number]).app).post('/api/auth/logout').set('X-Forwarded-For', ip)),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    expect(responses.filter((r) => r.status === 429)).toHaveLength(20);
  });
});
