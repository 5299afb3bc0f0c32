import { testRedisUrl, uniquePrefix } from '@hubspoke/kit/testing';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { createRedisStore } from '../src/rate-limit/redis-store.js';
import type { EdgeLookup, HitResult } from '../src/rate-limit/sliding-window.js';
import { createSyncedStore, type SyncedStore, type SyncedStoreOptions } from '../src/rate-limit/synced-store.js';

const clients: Redis[] = [];

/** One hub replica's rate-limit connection, built the way service.ts builds it. */
async function replicaRedis(): Promise<Redis> {
  const redis = new Redis(testRedisUrl(), { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  clients.push(redis);
  await new Promise((resolve) => redis.once('ready', resolve));
  return redis;
}

afterAll(() => {
  for (const redis of clients) redis.disconnect();
});

/** A replica's synced and exact stores on its own connection, and an address key of its own. */
async function replica(options: SyncedStoreOptions, address: string) {
  const redis = await replicaRedis();
  return { redis, synced: createSyncedStore(redis, options), exact: createRedisStore(redis), key: `${uniquePrefix('rls')}:ip:${address}` };
}

const ipLookup = (key: string, limit: number): EdgeLookup => ({ counted: [{ scope: 'ip', key, limit, windowMs: 60_000 }], watched: [], reads: [] });
const windowKey = (key: string) => `${key}:${Math.floor(Date.now() / 60_000)}`;

/** The limiter's order: from memory when the counters are fresh, else exactly in Redis, handing the totals over. */
async function check(synced: SyncedStore, exact: ReturnType<typeof createRedisStore>, lookup: EdgeLookup): Promise<{ via: 'memory' | 'redis'; result: HitResult }> {
  const fromMemory = synced.hit(lookup);
  if (fromMemory) return { via: 'memory', result: fromMemory };
  const result = await exact.hit(lookup);
  synced.observe(lookup, result);
  return { via: 'redis', result };
}

describe('rate limits answered from memory, synced in batches', () => {
  test('when a client\'s first request arrives, then it is checked in Redis; the next ones within the fresh spell are answered from memory without a call', async () => {
    const { redis, synced, exact, key } = await replica({ syncMs: 200 }, '198.51.100.7');
    const calls = vi.spyOn(redis, 'evalsha');

    expect((await check(synced, exact, ipLookup(key, 100))).via).toBe('redis');
    const before = calls.mock.calls.length;
    const answers = await Promise.all(Array.from({ length: 20 }, () => check(synced, exact, ipLookup(key, 100))));
    expect(answers.every(({ via, result }) => via === 'memory' && result.allowed)).toBe(true);
    expect(calls.mock.calls.length).toBe(before);

    // The sync sends the 20 counts in one call; Redis then holds all 21.
    await synced.flush();
    expect(calls.mock.calls.length).toBe(before + 1);
    expect(Number(await redis.get(windowKey(key)))).toBe(21);
    synced.close();
  });

  test('when one replica takes a burst, then exactly the limit passes, as in Redis', async () => {
    const { redis, synced, exact, key } = await replica({ syncMs: 50 }, '198.51.100.8');
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push(await check(synced, exact, ipLookup(key, 25)));
    expect(answers.filter(({ result }) => result.allowed)).toHaveLength(25);
    await synced.flush();
    expect(Number(await redis.get(windowKey(key)))).toBe(25);
    synced.close();
  });

  test('when a key has been quiet for longer than two sync intervals, then its next request is checked in Redis again', async () => {
    const { redis, synced, exact, key } = await replica({ syncMs: 20 }, '198.51.100.9');
    await check(synced, exact, ipLookup(key, 100));
    expect((await check(synced, exact, ipLookup(key, 100))).via).toBe('memory');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Another replica counted meanwhile: the stale counter would not know it; the check in Redis does.
    await redis.incrby(windowKey(key), 50);
    const after = await check(synced, exact, ipLookup(key, 100));
    expect(after.via).toBe('redis');
    expect(after.result.counts[0]?.current).toBe(52);
    synced.close();
  });

  test('when many distinct clients are only ever checked (forged tokens naming random users), then the counters kept stay bounded', async () => {
    const { synced, exact } = await replica({ syncMs: 50, maxKeys: 100 }, '198.51.100.11');
    const keyPrefix = uniquePrefix('rls');
    const userLookup = (i: number): EdgeLookup => ({ counted: [], watched: [{ scope: 'user', key: `${keyPrefix}:user:forged-${i}`, limit: 10, windowMs: 60_000 }], reads: [] });
    for (let start = 0; start < 1000; start += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, i) => check(synced, exact, userLookup(start + i))));
    }
    expect(synced.size()).toBeLessThanOrEqual(110);
    synced.close();
  });

  test('when a sync fails, then the store says it is unhealthy and keeps the counts; the next sync that succeeds delivers them', async () => {
    const { redis, synced, exact, key } = await replica({ syncMs: 50 }, '198.51.100.10');
    await check(synced, exact, ipLookup(key, 100));
    for (let i = 0; i < 5; i++) expect((await check(synced, exact, ipLookup(key, 100))).via).toBe('memory');

    const ended = new Promise((resolve) => redis.once('end', resolve));
    redis.disconnect();
    await ended;
    await synced.flush();
    expect(synced.healthy()).toBe(false);

    await redis.connect();
    await synced.flush();
    expect(synced.healthy()).toBe(true);
    expect(Number(await redis.get(windowKey(key)))).toBe(6);
    synced.close();
  });
});
