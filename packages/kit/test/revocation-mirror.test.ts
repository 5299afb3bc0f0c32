import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { createRevocationMirror, type RevocationMirror } from '../src/auth/revocation-mirror.js';
import { createRevocationWriter, revocationKeys } from '../src/auth/revocation.js';
import { testRedisUrl, uniquePrefix } from '../src/testing/env.js';
import { debugLogger, eventually } from './registry-helpers.js';

const redis = new Redis(testRedisUrl());
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
});
afterAll(() => redis.quit());

const nowSec = () => Math.floor(Date.now() / 1000);

function writer(keyPrefix: string) {
  const revocations = createRevocationWriter({ redisUrl: testRedisUrl(), keyPrefix, accessTokenTtlMs: 900_000, logger: debugLogger().logger });
  cleanups.push(() => revocations.close());
  return revocations;
}

async function startMirror(keyPrefix: string, options: { maxEntries?: number } = {}): Promise<RevocationMirror> {
  const mirror = createRevocationMirror({ redisUrl: testRedisUrl(), keyPrefix, logger: debugLogger().logger, ...options });
  cleanups.push(() => mirror.close());
  await mirror.start();
  return mirror;
}

describe('revocation mirror', () => {
  test('when revocations exist before the hub starts, then the mirror loads them and answers from memory', async () => {
    const keyPrefix = uniquePrefix('rv');
    const revocations = writer(keyPrefix);
    const [loggedOut, deletedUser] = [randomUUID(), randomUUID()];
    await redis.ping();
    await eventually('the writer is connected', async () => {
      await revocations.revokeToken(loggedOut, nowSec() + 600);
      return true;
    });
    await revocations.revokeUser(deletedUser);

    const mirror = await startMirror(keyPrefix);
    expect(mirror.synced()).toBe(true);
    expect(mirror.entries(loggedOut, 'someone')).toEqual({ token: '1', userNotBefore: null });
    expect(mirror.entries(randomUUID(), deletedUser)).toEqual({ token: null, userNotBefore: expect.stringMatching(/^\d+$/) });
    expect(mirror.entries(randomUUID(), 'someone')).toEqual({ token: null, userNotBefore: null });
  });

  test('when the auth spoke revokes while the hub runs, then the mirror never answers "not revoked" once the write returned', async () => {
    const keyPrefix = uniquePrefix('rv');
    const revocations = writer(keyPrefix);
    const mirror = await startMirror(keyPrefix);
    await eventually('the writer is connected', async () => {
      await revocations.revokeToken(randomUUID(), nowSec() + 600);
      return true;
    });
    for (let i = 0; i < 20; i++) {
      const tokenId = randomUUID();
      await revocations.revokeToken(tokenId, nowSec() + 600);
      // Redis wrote the notice before it answered the writer; once the hub has read its socket the key is
      // unknown (read Redis) or already re-read (revoked): a hub never has the old "absent" after that.
      await new Promise((resolve) => setImmediate(resolve));
      expect(mirror.entries(tokenId, 'someone')?.token ?? 'unknown').not.toBeNull();
      await eventually('the revocation is mirrored', () => mirror.entries(tokenId, 'someone')?.token === '1');
    }
    const userId = randomUUID();
    await revocations.revokeUser(userId);
    await eventually('the user revocation is mirrored', () => mirror.entries(randomUUID(), userId)?.userNotBefore);
  });

  test('when an entry is removed or expires in Redis, then the mirror forgets it', async () => {
    const keyPrefix = uniquePrefix('rv');
    const keys = revocationKeys(keyPrefix);
    const mirror = await startMirror(keyPrefix);
    const [removed, expiring] = [randomUUID(), randomUUID()];
    await redis.set(keys.token(removed), '1', 'EX', 600);
    await redis.set(keys.token(expiring), '1', 'PX', 300);
    await eventually('both are mirrored', () => mirror.entries(removed, 'u')?.token === '1' && mirror.entries(expiring, 'u')?.token === '1');

    await redis.del(keys.token(removed));
    await eventually('the removed entry is forgotten', () => mirror.entries(removed, 'u')?.token === null);
    // Redis expires keys lazily or in its sampling cycle; a read makes sure it has.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await redis.get(keys.token(expiring));
    await eventually('the expired entry is forgotten', () => mirror.entries(expiring, 'u')?.token === null);
  });

  test('when the list grows past what the mirror may hold, then it stops vouching, so callers read Redis', async () => {
    const keyPrefix = uniquePrefix('rv');
    const revocations = writer(keyPrefix);
    const mirror = await startMirror(keyPrefix, { maxEntries: 2 });
    expect(mirror.synced()).toBe(true);
    await eventually('the writer is connected', async () => {
      await revocations.revokeToken(randomUUID(), nowSec() + 600);
      return true;
    });
    await revocations.revokeToken(randomUUID(), nowSec() + 600);
    await revocations.revokeToken(randomUUID(), nowSec() + 600);
    await eventually('the mirror stops vouching', () => !mirror.synced());
    expect(mirror.entries(randomUUID(), 'someone')).toBeUndefined();
  });
});
