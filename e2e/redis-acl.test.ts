import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  createLogger, createRegistryReader, createRevocationMirror, createRevocationWriter, registerInstance, registryKeys, revocationKeys,
} from '@hubspoke/kit';
import { eventually, startPrivateRedis, testRegistryKey, TEST_REGISTRY_MASTER_KEY, type PrivateRedis } from '@hubspoke/kit/testing';
import { createRedisStore } from '../hub-orchestrator/src/rate-limit/redis-store.js';
import { createSyncedStore } from '../hub-orchestrator/src/rate-limit/synced-store.js';
import { REDIS_ACL } from '../scripts/credentials/credential-templates.js';
import { passwordEnv, renderTemplate, serviceCredentials } from './support/credentials.js';

const logger = createLogger({ service: 'redis-acl-test', level: 'silent' });
const services = serviceCredentials();
const ADMIN = 'admin-password-0123';
const MONITORING = 'monitoring-password-0123';
let redis: PrivateRedis;
let rendered: ReturnType<typeof renderTemplate>;
const clients: Redis[] = [];

const urlOf = (user: string, password: string) => `redis://${user}:${password}@127.0.0.1:${redis.port}`;
const passwordOf = (name: string) => services.find((s) => s.name === name)!.redisPassword;
/** A client logged in as `user`, failing fast (no offline queue, one attempt). */
function client(user: string, password = user === 'admin' ? ADMIN : user === 'monitoring' ? MONITORING : passwordOf(user)): Redis {
  const connection = new Redis(urlOf(user, password), { maxRetriesPerRequest: 0, enableOfflineQueue: true, retryStrategy: () => null });
  connection.on('error', () => undefined);
  clients.push(connection);
  return connection;
}

beforeAll(async () => {
  // The project's ACL file, rendered by the redis container's own entrypoint step, loaded by a real redis-server.
  rendered = renderTemplate('sha256', REDIS_ACL, { ...passwordEnv(services, 'REDIS'), REDIS_ADMIN_PASSWORD: ADMIN, REDIS_MONITORING_PASSWORD: MONITORING });
  redis = await startPrivateRedis({ args: ['--aclfile', rendered.path] });
}, 30_000);

afterAll(async () => {
  for (const connection of clients) connection.disconnect();
  await redis?.stop();
  rendered?.remove();
});

describe('the Redis ACL file (data-config/redis)', () => {
  test('when rendered, then it holds each password only as a SHA-256, and no client gets in without a user', async () => {
    for (const { redisPassword } of services) expect(rendered.text).not.toContain(redisPassword);
    expect(rendered.text).not.toContain(ADMIN);
    const anonymous = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false });
    anonymous.on('error', () => undefined);
    clients.push(anonymous);
    await anonymous.connect();
    await expect(anonymous.get('registry:instances')).rejects.toThrow(/NOAUTH/);
    await expect(client('auth', 'wrong-password').ping()).rejects.toThrow(/WRONGPASS|NOAUTH/);
  });

  test('when a spoke registers as its own user, then the hub\'s user reads it through the registry', async () => {
    const reader = createRegistryReader({ redisUrl: urlOf('hub', passwordOf('hub')), masterKey: TEST_REGISTRY_MASTER_KEY, logger, resyncMs: 200 });
    await reader.start();
    const registration = await registerInstance({
      redis: urlOf('auth', passwordOf('auth')), key: testRegistryKey('auth'), service: 'auth', routePrefix: 'auth', url: 'http://127.0.0.1:3001', version: '1.0.0', logger,
    });
    try {
      await eventually(() => expect(reader.instances().map((i) => i.instanceId)).toContain(registration.instanceId));
      await registration.deregister();
      await eventually(() => expect(reader.instances().map((i) => i.instanceId)).not.toContain(registration.instanceId));
    } finally {
      await registration.stop();
      await reader.close();
    }
  });

  test('when a spoke writes another service\'s registry record or the hub\'s rate-limit keys, then Redis refuses (NOPERM)', async () => {
    const notification = client('notification');
    const keys = registryKeys();
    await expect(notification.set(keys.instance('auth', 'forged'), 'x', 'PX', 10_000)).rejects.toThrow(/NOPERM/);
    await expect(notification.get(keys.instance('auth', 'any'))).rejects.toThrow(/NOPERM/);
    await expect(notification.incr('hub:rl:ip:203.0.113.7')).rejects.toThrow(/NOPERM/);
    await expect(notification.del('hub:rl:ip:203.0.113.7')).rejects.toThrow(/NOPERM/);
    await expect(notification.publish('other-channel', 'x')).rejects.toThrow(/NOPERM/);
    await expect(notification.flushall()).rejects.toThrow(/NOPERM/);
    await expect(notification.keys('*')).rejects.toThrow(/NOPERM/);
    // Its own record: allowed.
    expect(await notification.set(keys.instance('notification', 'own'), 'x', 'PX', 10_000)).toBe('OK');
  });

  test('when the hub counts rate limits with its real script, then it may; it reads the registry but cannot write it, flush or list keys', async () => {
    const hub = client('hub');
    const store = createRedisStore(hub);
    const checks = [{ scope: 'ip' as const, key: 'hub:rl:ip:203.0.113.9', limit: 5, windowMs: 60_000 }];
    // One round trip: the limits, and the revocation entries of the token.
    const result = await store.hit({ counted: checks, watched: [], reads: [revocationKeys().token('example')] });
    expect([result.allowed, result.values]).toEqual([true, [null]]);
    await expect(hub.set(registryKeys().instance('auth', 'forged'), 'x')).rejects.toThrow(/NOPERM/);
    await expect(hub.set('elsewhere', 'x')).rejects.toThrow(/NOPERM/);
    await expect(hub.flushall()).rejects.toThrow(/NOPERM/);
    await expect(hub.scan('0')).rejects.toThrow(/NOPERM/);
    await expect(hub.config('SET', 'appendonly', 'no')).rejects.toThrow(/NOPERM/);
  });

  test('when the auth spoke revokes a token or a user, then it may; no other spoke can write the revocation list', async () => {
    const keys = revocationKeys();
    expect(await client('auth').set(keys.token('logged-out'), '1', 'EX', 60)).toBe('OK');
    expect(await client('auth').set(keys.user('deleted'), '1700000000', 'EX', 60)).toBe('OK');
    await expect(client('notification').set(keys.token('forged'), '1', 'EX', 60)).rejects.toThrow(/NOPERM/);
    await expect(client('notification').del(keys.token('logged-out'))).rejects.toThrow(/NOPERM/);
    expect(await client('hub').get(keys.token('logged-out'))).toBe('1');
  });

  test('when the auth spoke revokes as its own user, then the hub\'s user mirrors it through Redis\'s notices and syncs its rate limits', async () => {
    const mirror = createRevocationMirror({ redisUrl: urlOf('hub', passwordOf('hub')), logger });
    const writer = createRevocationWriter({ redisUrl: urlOf('auth', passwordOf('auth')), accessTokenTtlMs: 900_000, logger });
    try {
      await mirror.start();
      expect(mirror.synced()).toBe(true);
      // The writer's connection is lazy: its first write may come before it is ready.
      await eventually(() => writer.revokeToken('mirrored', Math.floor(Date.now() / 1000) + 600).then(() => true));
      await writer.revokeUser('deleted-mirrored');
      await eventually(() => mirror.entries('mirrored', 'deleted-mirrored')?.userNotBefore);
      expect(mirror.entries('mirrored', 'deleted-mirrored')).toEqual({ token: '1', userNotBefore: expect.stringMatching(/^\d+$/) });
    } finally {
      await mirror.close();
      await writer.close();
    }
    const hub = client('hub');
    const synced = createSyncedStore(hub, { syncMs: 50 });
    const check = { scope: 'ip' as const, key: 'hub:rl:ip:203.0.113.10', limit: 5, windowMs: 60_000 };
    synced.count(check);
    await synced.flush();
    expect(synced.healthy()).toBe(true);
    synced.close();
    await expect(hub.client('KILL', 'TYPE', 'normal')).rejects.toThrow(/NOPERM/);
  });

  test('when the exporter logs in as monitoring, then it reads server statistics and no key', async () => {
    const monitoring = client('monitoring');
    expect(await monitoring.info('server')).toContain('redis_version');
    await expect(monitoring.get('hub:rl:ip:203.0.113.9')).rejects.toThrow(/NOPERM/);
    await expect(monitoring.set('x', '1')).rejects.toThrow(/NOPERM/);
  });
});
