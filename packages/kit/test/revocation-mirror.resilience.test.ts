import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRevocationMirror, type RevocationMirror } from '../src/auth/revocation-mirror.js';
import { revocationKeys } from '../src/auth/revocation.js';
import { startPrivateRedis, type PrivateRedis } from '../src/testing/private-redis.js';
import { debugLogger, eventually } from './registry-helpers.js';

describe('revocation mirror through a Redis outage', () => {
  let server: PrivateRedis;
  let admin: Redis;
  let mirror: RevocationMirror;
  const keys = revocationKeys();

  beforeAll(async () => {
    server = await startPrivateRedis();
    admin = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    admin.on('error', () => undefined);
    mirror = createRevocationMirror({ redisUrl: server.url, logger: debugLogger().logger });
    await mirror.start();
  });

  afterAll(async () => {
    await mirror.close();
    admin.disconnect();
    await server.stop();
  });

  test('when Redis goes away, then the mirror stops vouching at once; when it is back, it reloads and follows changes again', async () => {
    const before = randomUUID();
    await admin.set(keys.token(before), '1', 'EX', 600);
    await eventually('the revocation is mirrored', () => mirror.entries(before, 'u')?.token === '1');

    await server.stop();
    await eventually('the mirror stops vouching', () => !mirror.synced());
    expect(mirror.entries(before, 'u')).toBeUndefined();

    await server.start();
    await eventually('the mirror reloads', () => mirror.synced(), { timeoutMs: 15_000 });
    // The restarted server is empty: what it held before is gone from the mirror too.
    expect(mirror.entries(before, 'u')).toEqual({ token: null, userNotBefore: null });
    const after = randomUUID();
    await admin.set(keys.token(after), '1', 'EX', 600);
    await eventually('a revocation after the outage is mirrored', () => mirror.entries(after, 'u')?.token === '1');
  });

  test('when the keyspace is flushed, then the mirror drops what it held and follows changes again', async () => {
    const flushed = randomUUID();
    await admin.set(keys.token(flushed), '1', 'EX', 600);
    await eventually('the revocation is mirrored', () => mirror.entries(flushed, 'u')?.token === '1');

    await admin.flushall();
    await eventually('the flushed entry is forgotten', () => mirror.entries(flushed, 'u')?.token === null);
    const later = randomUUID();
    await admin.set(keys.token(later), '1', 'EX', 600);
    await eventually('a later revocation is mirrored', () => mirror.entries(later, 'u')?.token === '1');
  });
});
