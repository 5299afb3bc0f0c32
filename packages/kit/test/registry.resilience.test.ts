import { Redis } from 'ioredis';
import { afterEach, describe, expect, test } from 'vitest';
import { registerInstance, type Registration } from '../src/registry/client.js';
import { registryKeys } from '../src/registry/keys.js';
import { createRegistryReader, type RegistryReader } from '../src/registry/reader.js';
import { uniquePrefix } from '../src/testing/env.js';
import { startPrivateRedis, type PrivateRedis } from '../src/testing/private-redis.js';
import { testRegistryKey, TEST_REGISTRY_MASTER_KEY } from '../src/testing/registry-keys.js';
import { debugLogger, eventually, spokeFields } from './registry-helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
});

async function privateRedis(): Promise<PrivateRedis> {
  const server = await startPrivateRedis();
  let up = true;
  // The helper's stop() waits for an exit that already happened when called twice, so only stop a running server.
  cleanups.push(() => (up ? server.stop() : Promise.resolve()));
  return {
    ...server,
    stop: () => server.stop().then(() => void (up = false)),
    start: () => server.start().then(() => void (up = true)),
  };
}

function reader(redisUrl: string, keyPrefix: string, now?: () => number): RegistryReader {
  const created = createRegistryReader({ redisUrl, keyPrefix, masterKey: TEST_REGISTRY_MASTER_KEY, logger: debugLogger().logger, resyncMs: 500, now });
  cleanups.unshift(() => created.close());
  return created;
}

async function register(redisUrl: string, keyPrefix: string) {
  const { logger, lines } = debugLogger();
  const registration: Registration = await registerInstance({ redis: redisUrl, keyPrefix, key: testRegistryKey('users'), logger, ttlMs: 3000, heartbeatMs: 500, ...spokeFields() });
  cleanups.unshift(() => registration.stop());
  return { registration, lines };
}

async function keyExists(redisUrl: string, key: string): Promise<boolean> {
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    return (await client.exists(key)) === 1;
  } finally {
    client.disconnect();
  }
}

/** A private Redis, a reader on it and one registered spoke the reader already lists. */
async function listedSpoke() {
  const server = await privateRedis();
  const prefix = `${uniquePrefix('res')}:`;
  const hub = reader(server.url, prefix);
  await hub.start();
  const { registration } = await register(server.url, prefix);
  await eventually('listed', () => hub.instances().length === 1);
  return { server, prefix, hub, registration };
}

describe('registry: Redis outage', () => {
  test('when Redis goes down, then the reader keeps its snapshot, says since when it is down, and answers at once', async () => {
    const server = await privateRedis();
    const prefix = `${uniquePrefix('res')}:`;
    let clockSkewMs = 0;
    const hub = reader(server.url, prefix, () => Date.now() + clockSkewMs);
    await hub.start();
    const { registration, lines } = await register(server.url, prefix);
    await eventually('listed', () => hub.instances().some((i) => i.instanceId === registration.instanceId));

    const stoppedAt = Date.now();
    await server.stop();
    await eventually('the reader reports Redis down', () => !hub.state().connected, { timeoutMs: 5000 });
    expect(hub.state().downSince).toBeGreaterThanOrEqual(stoppedAt - 50);

    // Past the instance's 3 s TTL on the reader's clock: the hub keeps routing on what it last knew.
    clockSkewMs = 3_500;
    const failedAgain = () => lines.filter((l) => l.msg === 'registry: heartbeat failed again').length;
    const failedBefore = failedAgain();
    // Another failed heartbeat since: the reader, resyncing as often, has tried Redis again on the moved clock.
    await eventually('another failed heartbeat', () => failedAgain() > failedBefore, { timeoutMs: 5000 });
    const started = performance.now();
    const instances = hub.instances();
    expect(performance.now() - started).toBeLessThan(5);
    expect(instances.map((i) => i.instanceId)).toEqual([registration.instanceId]);
    expect(hub.state()).toMatchObject({ connected: false, downSince: expect.any(Number) });
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'registry: heartbeat failed; retrying on the next tick' }));
    expect(lines.filter((l) => l.msg === 'registry: heartbeat failed; retrying on the next tick')).toHaveLength(1);
  });

  test('when Redis comes back empty, then the spoke re-registers and the reader resyncs at once', async () => {
    const { server, prefix, hub, registration } = await listedSpoke();
    await server.stop();
    await eventually('down', () => !hub.state().connected, { timeoutMs: 5000 });

    const restartedAt = performance.now();
    await server.start();
    await eventually('the reader is connected again', () => hub.state().connected, { timeoutMs: 5000 });
    const key = registryKeys(prefix).instance('users', registration.instanceId);
    await eventually('the spoke re-registered', () => keyExists(server.url, key), { timeoutMs: 5000 });
    await eventually('the reader lists it from the new Redis', () => (hub.state().lastSyncAt ?? 0) > Date.now() - 1000 && hub.instances().length === 1);
    console.warn(`registry: reconnected and resynced ${(performance.now() - restartedAt).toFixed(0)} ms after Redis returned`);
    expect(performance.now() - restartedAt).toBeLessThan(3000);
    expect(hub.state()).toMatchObject({ connected: true, downSince: null });
  });

  test('when a draining spoke cannot reach Redis, then markDraining fails fast and the next heartbeat carries it', async () => {
    const { server, hub, registration } = await listedSpoke();
    await server.stop();

    const started = performance.now();
    await expect(registration.markDraining()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(3000);
    await server.start();
    await eventually('the reader sees it draining', () => hub.instances()[0]?.status === 'draining', { timeoutMs: 5000 });
  });

  test('when the reader starts while Redis is down, then start resolves, it reports down, and it syncs once Redis is up', async () => {
    const server = await privateRedis();
    const prefix = `${uniquePrefix('res')}:`;
    const { registration } = await register(server.url, prefix);
    await server.stop();

    const hub = reader(server.url, prefix);
    const started = performance.now();
    await hub.start();
    expect(performance.now() - started).toBeLessThan(5000);
    expect(hub.state()).toMatchObject({ connected: false, downSince: expect.any(Number), lastSyncAt: null });
    expect(hub.instances()).toEqual([]);

    await server.start();
    await eventually('listed after Redis returns', () => hub.instances().some((i) => i.instanceId === registration.instanceId), { timeoutMs: 5000 });
  });
});
