import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { registerInstance, type RegisterInstanceOptions, type Registration } from '../src/registry/client.js';
import { registryKeys } from '../src/registry/keys.js';
import { createRegistryReader, type RegistryReader } from '../src/registry/reader.js';
import { signRecord } from '../src/registry/signing.js';
import type { InstanceRecord } from '../src/registry/types.js';
import { testRedisUrl, uniquePrefix } from '../src/testing/env.js';
import { testRegistryKey, TEST_REGISTRY_MASTER_KEY } from '../src/testing/registry-keys.js';
import { debugLogger, eventually, spokeFields } from './registry-helpers.js';

const redis = new Redis(testRedisUrl());
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
});
afterAll(() => redis.quit());

async function startReader(keyPrefix: string, resyncMs = 2000) {
  const { logger, lines } = debugLogger();
  const reader = createRegistryReader({ redisUrl: testRedisUrl(), keyPrefix, masterKey: TEST_REGISTRY_MASTER_KEY, logger, resyncMs });
  cleanups.push(() => reader.close());
  await reader.start();
  return { reader, lines };
}

async function register(keyPrefix: string, overrides: Partial<RegisterInstanceOptions> = {}): Promise<Registration> {
  const registration = await registerInstance({
    redis: testRedisUrl(),
    keyPrefix,
    key: testRegistryKey(overrides.service ?? 'users'),
    logger: debugLogger().logger,
    ...spokeFields(),
    ...overrides,
  });
  cleanups.push(() => registration.stop());
  return registration;
}

const find = (reader: RegistryReader, instanceId: string) => reader.instances().find((i) => i.instanceId === instanceId);

/** Writes a value under a well-formed instance key and indexes it, as anything with Redis access could. */
async function plant(keyPrefix: string, instanceId: string, stored: string): Promise<void> {
  const keys = registryKeys(keyPrefix);
  const key = keys.instance('users', instanceId);
  await redis.multi().set(key, stored, 'PX', 30_000).zadd(keys.index, Date.now() + 30_000, key).publish(keys.changes, 'x').exec();
}

function recordFor(instanceId: string): InstanceRecord {
  return { ...spokeFields(), instanceId, publicRoutes: [], routeLimits: [], taskTypes: [], tasks: [], status: 'ready', heartbeatAt: Date.now(), ttlMs: 30_000 } as InstanceRecord;
}

describe('registry: register, drain, deregister', () => {
  test('when a spoke registers, then the reader lists it within 2 s', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix);
    const started = performance.now();
    const registration = await register(prefix);
    const listed = await eventually('the reader lists the instance', () => find(reader, registration.instanceId), { timeoutMs: 5000, intervalMs: 5 });
    const elapsedMs = performance.now() - started;

    console.warn(`registry: time to visible ${elapsedMs.toFixed(1)} ms`);
    expect(elapsedMs).toBeLessThan(2000);
    expect(listed).toMatchObject({ ...spokeFields(), status: 'ready', ttlMs: 10_000 });
    expect(registration.record()).toMatchObject({ instanceId: registration.instanceId, status: 'ready' });
    expect(reader.state()).toMatchObject({ connected: true, downSince: null, lastSyncAt: expect.any(Number) });
  });

  test('when a spoke registers, then the change listeners are called with it', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix);
    const seen: InstanceRecord[][] = [];
    reader.onChange((instances) => seen.push(instances));
    const registration = await register(prefix);
    await eventually('a listener saw the instance', () => seen.some((list) => list.some((i) => i.instanceId === registration.instanceId)));
  });

  test('when an instance only heartbeats, then the listeners are not called again but heartbeatAt moves on', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix, 200);
    const registration = await register(prefix, { ttlMs: 2000, heartbeatMs: 200 });
    const first = await eventually('listed', () => find(reader, registration.instanceId));
    let calls = 0;
    reader.onChange(() => calls++);
    await eventually('a later heartbeat is read', () => (find(reader, registration.instanceId)?.heartbeatAt ?? 0) > first.heartbeatAt + 300);
    expect(calls).toBe(0);
  });

  test('when a spoke marks itself draining, then the reader sees it draining at once', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix, 60_000);
    const registration = await register(prefix);
    await eventually('listed', () => find(reader, registration.instanceId));
    const started = performance.now();
    await registration.markDraining();
    await eventually('draining', () => find(reader, registration.instanceId)?.status === 'draining', { timeoutMs: 5000, intervalMs: 5 });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(registration.record().status).toBe('draining');
  });

  test('when a spoke deregisters, then the reader drops it and its key is gone', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix, 60_000);
    const heartbeat = { ttlMs: 1000, heartbeatMs: 100 };
    const registration = await register(prefix, heartbeat);
    // Registered just after it on the same heartbeat: its ticks show when the deregistered one's would have come.
    const twin = await register(prefix, heartbeat);
    await eventually('listed', () => find(reader, registration.instanceId));
    await registration.deregister();
    const deregisteredAt = Date.now();
    await eventually('gone', () => !find(reader, registration.instanceId), { timeoutMs: 1000 });
    expect(await redis.exists(registryKeys(prefix).instance('users', registration.instanceId))).toBe(0);
    // A late heartbeat tick must not bring it back.
    await eventually('a heartbeat interval has passed', () => twin.record().heartbeatAt > deregisteredAt + heartbeat.heartbeatMs);
    expect(await redis.exists(registryKeys(prefix).instance('users', registration.instanceId))).toBe(0);
  });

  test('when a spoke stops heartbeating, then it leaves the reader within its TTL plus one resync', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix, 500);
    const registration = await register(prefix, { ttlMs: 1000, heartbeatMs: 300 });
    await eventually('listed', () => find(reader, registration.instanceId));
    const stoppedAt = performance.now();
    await registration.stop();
    await eventually('expired', () => !find(reader, registration.instanceId), { timeoutMs: 10_000 });
    expect(performance.now() - stoppedAt).toBeLessThan(1000 + 500 + 1000);
  });

  test('when two instances of a service register, then both are listed under distinct ids', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix);
    const [a, b] = await Promise.all([register(prefix), register(prefix, { url: 'http://10.0.0.8:3002' })]);
    expect(a.instanceId).not.toBe(b.instanceId);
    await eventually('both listed', () => find(reader, a.instanceId) && find(reader, b.instanceId));
  });

  test('when hundreds of instances are registered, then the reader lists every one', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const keys = registryKeys(prefix);
    const tx = redis.multi();
    for (let i = 0; i < 1200; i++) {
      const key = keys.instance('users', `bulk-${i}`);
      tx.set(key, signRecord(recordFor(`bulk-${i}`), testRegistryKey('users')), 'PX', 30_000).zadd(keys.index, Date.now() + 30_000, key);
    }
    await tx.exec();
    const { reader } = await startReader(prefix);
    expect(reader.instances()).toHaveLength(1200);
  });

  test('when a spoke tries to register an invalid record, then registration throws naming the field', async () => {
    await expect(register(`${uniquePrefix('reg')}:`, { routePrefix: 'Bad/Prefix' })).rejects.toThrow(/routePrefix/);
    await expect(register(`${uniquePrefix('reg')}:`, { url: 'javascript:alert(1)' })).rejects.toThrow(/url/);
  });
});

describe('registry: records the hub must not trust', () => {
  test('when a record is written by hand without a signature, then the reader ignores it and counts it', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader, lines } = await startReader(prefix);
    await plant(prefix, 'rogue-1', JSON.stringify(recordFor('rogue-1')));
    await eventually('counted as unsigned', () => reader.state().rejected.unsigned > 0);
    expect(find(reader, 'rogue-1')).toBeUndefined();
    expect(lines).toContainEqual(expect.objectContaining({ level: 'debug', msg: 'registry: ignored record', reason: 'unsigned' }));
  });

  test('when a spoke registers with a key not derived from the master key, then the reader ignores it', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix);
    const rogue = await register(prefix, { key: 'not-a-registry-key-derived-from-the-master' });
    await eventually('counted as a bad signature', () => reader.state().rejected['bad-signature'] > 0);
    expect(find(reader, rogue.instanceId)).toBeUndefined();
  });

  test('when a signed record is tampered with, then the reader ignores it but keeps the honest ones', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix);
    const honest = await register(prefix);
    const signed = JSON.parse(signRecord(recordFor('tampered-1'), testRegistryKey('users'))) as { payload: string };
    signed.payload = signed.payload.replace('10.0.0.7', '203.0.113.66');
    await plant(prefix, 'tampered-1', JSON.stringify(signed));
    await eventually('counted as a bad signature', () => reader.state().rejected['bad-signature'] > 0);
    expect(reader.instances().map((i) => i.instanceId)).toEqual([honest.instanceId]);
  });

  test('when a stored value is not JSON, then the reader ignores it as malformed', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix);
    await plant(prefix, 'broken-1', '{"payload": "unterminated');
    await eventually('counted as malformed', () => reader.state().rejected.malformed > 0);
    expect(reader.instances()).toEqual([]);
  });

  test('when a validly signed record is copied under another instance key, then the reader ignores the copy', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix);
    await plant(prefix, 'copy-of-a', signRecord(recordFor('original-a'), testRegistryKey('users')));
    await eventually('counted as malformed', () => reader.state().rejected.malformed > 0);
    expect(reader.instances()).toEqual([]);
  });

  test('when a signed record is replayed after its heartbeat plus ttl, then the reader ignores it as expired', async () => {
    const prefix = `${uniquePrefix('reg')}:`;
    const { reader } = await startReader(prefix);
    await plant(prefix, 'stale-1', signRecord({ ...recordFor('stale-1'), heartbeatAt: Date.now() - 60_000, ttlMs: 10_000 }, testRegistryKey('users')));
    await eventually('counted as expired', () => reader.state().rejected.expired > 0);
    expect(reader.instances()).toEqual([]);
  });
});
