import { randomUUID } from 'node:crypto';
import { createLogger } from '@hubspoke/kit';
import { signTestToken, testRedisUrl, uniquePrefix } from '@hubspoke/kit/testing';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { createRateLimiter } from '../src/rate-limit/rate-limiter.js';
import { createRedisStore } from '../src/rate-limit/redis-store.js';
import type { ScopeCheck } from '../src/rate-limit/sliding-window.js';
import { edgePipeline } from './edge-pipeline.js';

const clients: Redis[] = [];
const logger = createLogger({ service: 'hub-test', level: 'silent' });

/** One hub replica's rate-limit connection, built the way service.ts builds it. */
async function replicaRedis(): Promise<Redis> {
  const redis = new Redis(testRedisUrl(), { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
  clients.push(redis);
  await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

afterAll(() => {
  for (const redis of clients) redis.disconnect();
});

/** A store on its own replica connection, with its script calls counted. */
async function batchedStore() {
  const redis = await replicaRedis();
  const calls = vi.spyOn(redis, 'evalsha');
  return { redis, calls, store: createRedisStore(redis), keyPrefix: uniquePrefix('rlb') };
}

const ipCheck = (keyPrefix: string, limit: number): ScopeCheck => ({ scope: 'ip', key: `${keyPrefix}:ip:198.51.100.7`, limit, windowMs: 60_000 });

describe('rate limits batched per event-loop turn', () => {
  test('when many requests arrive in one turn, then one script call checks them all and exactly the limit is counted', async () => {
    const { calls, store, keyPrefix } = await batchedStore();
    const results = await Promise.all(Array.from({ length: 40 }, () => store.hit({ counted: [ipCheck(keyPrefix, 25)], watched: [], reads: [] })));

    expect(calls).toHaveBeenCalledTimes(1);
    expect(results.filter((r) => r.allowed)).toHaveLength(25);
    // In arrival order: the first 25 pass, each seeing the ones before it.
    expect(results.map((r) => r.allowed)).toEqual([...Array(25).fill(true), ...Array(15).fill(false)]);
    expect(results.slice(0, 25).map((r) => r.counts[0]?.current)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  test('when a turn holds more requests than one call takes, then they are split and the limit still holds exactly', async () => {
    const { calls, store, keyPrefix } = await batchedStore();
    const results = await Promise.all(Array.from({ length: 450 }, () => store.hit({ counted: [ipCheck(keyPrefix, 300)], watched: [], reads: [] })));

    expect(calls).toHaveBeenCalledTimes(3);
    expect(results.filter((r) => r.allowed)).toHaveLength(300);
  });

  test('when a user is counted after auth, then the count rides in the next call with the reads and checks queued beside it', async () => {
    const { redis, calls, store, keyPrefix } = await batchedStore();
    const user: ScopeCheck = { scope: 'user', key: `${keyPrefix}:user:${randomUUID()}`, limit: 2, windowMs: 60_000 };
    const revocation = `${keyPrefix}:revoked:token:${randomUUID()}`;
    await redis.set(revocation, '1', 'EX', 60);

    const counted = store.count(user);
    const [first] = await Promise.all([store.hit({ counted: [ipCheck(keyPrefix, 10)], watched: [user], reads: [revocation, `${revocation}-absent`] }), counted]);
    expect(calls).toHaveBeenCalledTimes(1);
    // The count was queued first, so the hit in the same call already sees it.
    expect(first).toMatchObject({ allowed: true, counts: [{ current: 0 }, { current: 1 }], values: ['1', null] });

    await store.count(user);
    const refused = await store.hit({ counted: [ipCheck(keyPrefix, 10)], watched: [user], reads: [] });
    expect(refused).toMatchObject({ allowed: false, counts: [{ current: 1 }, { current: 2 }] });
  });

  test('when Redis fails a batch, then every request in it is told, so each falls back on its own', async () => {
    const redis = await replicaRedis();
    vi.spyOn(redis, 'evalsha').mockRejectedValue(new Error('Command timed out'));
    const store = createRedisStore(redis);
    const keyPrefix = uniquePrefix('rlb');
    const outcomes = await Promise.allSettled([
      store.hit({ counted: [ipCheck(keyPrefix, 10)], watched: [], reads: [] }),
      store.hit({ counted: [ipCheck(keyPrefix, 10)], watched: [], reads: [] }),
      store.count(ipCheck(keyPrefix, 10)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  test('when one user\'s requests alternate between two replicas, then the per-user limit holds exactly', async () => {
    const keyPrefix = uniquePrefix('rlb');
    const replica = async () => {
      const limiter = createRateLimiter({
        redis: await replicaRedis(), keyPrefix, logger, trustedHops: 1, perIp: { limit: 100, windowMs: 60_000 }, perUser: { limit: 5, windowMs: 60_000 },
      });
      return (await edgePipeline({ limiter, keys })).app;
    };
    const { keys } = await edgePipeline();
    const replicas = [await replica(), await replica()];
    const token = await signTestToken(keys, { sub: `user-${randomUUID()}`, role: 'user' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await request(replicas[i % 2] as (typeof replicas)[number]).get('/api/users/me').set('X-Forwarded-For', `198.51.100.${i + 10}`).set('Authorization', `Bearer ${token}`);
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
  });
});
