import { createLogger } from '@hubspoke/kit';
import { eventually, startPrivateRedis, type PrivateRedis } from '@hubspoke/kit/testing';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRateLimiter } from '../src/rate-limit/rate-limiter.js';
import { edgePipeline, REGISTER_LIMIT } from './edge-pipeline.js';

const FAST_MS = 500;

async function timed(send: () => PromiseLike<request.Response>) {
  const start = performance.now();
  const res = await send();
  return { res, ms: performance.now() - start };
}

describe('rate limits with Redis down', () => {
  let redisServer: PrivateRedis;
  let redis: Redis;
  let app: Express;
  const registry = new Registry();

  beforeAll(async () => {
    redisServer = await startPrivateRedis();
    // As main.ts builds it: fail in milliseconds while Redis is away instead of queueing.
    redis = new Redis(redisServer.url, {
      enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1, retryStrategy: (attempt) => Math.min(attempt * 50, 500),
    });
    redis.on('error', () => undefined);
    await new Promise((resolve) => redis.once('ready', resolve));
    const logger = createLogger({ service: 'hub-test', level: 'silent' });
    const limiter = createRateLimiter({
      redis, keyPrefix: 'rl', logger, trustedHops: 1, registry,
      perIp: { limit: 100, windowMs: 60_000 }, fallback: { perIp: { limit: 3, windowMs: 60_000 } },
    });
    ({ app } = await edgePipeline({ limiter }));
  });

  afterAll(async () => {
    redis.disconnect();
    await redisServer.stop();
  });

  test('when Redis is down, then requests are limited per process, fail-closed routes get 503, and every answer is fast', async () => {
    expect((await request(app).post('/api/auth/logout').set('X-Forwarded-For', '203.0.113.10')).status).toBe(200);
    await redisServer.stop();

    const fallback = [];
    for (let i = 0; i < 4; i++) fallback.push(await timed(() => request(app).post('/api/auth/logout').set('X-Forwarded-For', '203.0.113.11')));
    expect(fallback.map(({ res }) => res.status)).toEqual([200, 200, 200, 429]);
    expect(fallback.at(-1)?.res.headers['ratelimit-limit']).toBe('3');

    const closed = await timed(() => request(app).post(`/api/auth${REGISTER_LIMIT.path}`).set('X-Forwarded-For', '203.0.113.12').set('X-Request-Id', 'req-closed'));
    expect(closed.res.status).toBe(503);
    expect(closed.res.body).toEqual({ error: { code: 'RATE_LIMIT.UNAVAILABLE', message: expect.any(String), requestId: 'req-closed' } });
    expect(Number(closed.res.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    for (const { ms } of [...fallback, closed]) expect(ms).toBeLessThan(FAST_MS);
    const storeErrors = await registry.getSingleMetric('hub_rate_limit_store_errors_total')?.get();
    expect(storeErrors?.values[0]?.value).toBe(fallback.length + 1);
  });

  test('when Redis comes back, then counting is shared through it again and fail-closed routes reopen', async () => {
    await redisServer.start();
    await eventually(() => redis.status === 'ready');

    const register = await request(app).post(`/api/auth${REGISTER_LIMIT.path}`).set('X-Forwarded-For', '203.0.113.13');
    expect(register.status).toBe(200);
    // The per-process fallback (3) no longer applies: the shared limit (100) does.
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await request(app).post('/api/auth/logout').set('X-Forwarded-For', '203.0.113.14')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(await redis.keys('rl:ip:203.0.113.14:*')).toHaveLength(1);
  });
});

describe('rate limits when Redis goes away mid-window', () => {
  test('when Redis becomes unreachable, then the per-process fallback goes on from each client\'s count instead of starting it over', async () => {
    const redisServer = await startPrivateRedis();
    const redis = new Redis(redisServer.url, { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on('error', () => undefined);
    try {
      await new Promise((resolve) => redis.once('ready', resolve));
      const logger = createLogger({ service: 'hub-test', level: 'silent' });
      const limit = { limit: 5, windowMs: 60_000 };
      const limiter = createRateLimiter({ redis, keyPrefix: 'rl', logger, trustedHops: 1, perIp: limit, fallback: { perIp: limit } });
      const { app } = await edgePipeline({ limiter });
      const send = () => request(app).post('/api/auth/logout').set('X-Forwarded-For', '203.0.113.20');
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await send()).status);
      await redisServer.stop();
      for (let i = 0; i < 3; i++) statuses.push((await send()).status);
      // 3 counted with Redis up, then 2 more in the fallback: the client's quota, not a fresh one.
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
      limiter.close();
    } finally {
      redis.disconnect();
      await redisServer.stop();
    }
  });
});
