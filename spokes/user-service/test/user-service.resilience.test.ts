import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectBus, createLogger, createPool, JWKS_PATH, type Bus, type Pool } from '@hubspoke/kit';
import {
  createTestDatabase, createTestKeys, eventually, freePort, spawnService, startFaultProxy, TEST_AUDIENCE, TEST_ISSUER,
  testAmqpUrl, testRedisUrl, uniquePrefix, type FaultProxy, type ServiceProcess, type TestDatabase, type TestKeys, testRegistryKey
} from '@hubspoke/kit/testing';
import { USER_REGISTERED_QUEUE } from '../src/consumers/user-registered-consumer.js';
import { deleteTestTopology } from '@hubspoke/kit/testing';
import { tokenFor } from './support/tokens.js';
import { registeredEnvelope } from './support/user-harness.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const logger = createLogger({ service: 'test', level: 'silent' });
const prefix = uniquePrefix('user');

let database: TestDatabase;
let pool: Pool;
let keys: TestKeys;
let jwks: Server;
let proxy: FaultProxy;
let service: ServiceProcess;
let auth: Bus;
let base: string;

const get = (path: string, token?: string) => fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

beforeAll(async () => {
  database = await createTestDatabase('user_resilience');
  pool = createPool({ connectionString: database.url, applicationName: 'user-resilience-test' }, logger);
  keys = await createTestKeys();
  jwks = createServer((req, res) => {
    res.writeHead(req.url === JWKS_PATH ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(keys.jwks));
  });
  const jwksPort = await freePort();
  await new Promise<void>((resolve) => jwks.listen(jwksPort, '127.0.0.1', resolve));

  const amqp = new URL(testAmqpUrl());
  proxy = await startFaultProxy({ host: amqp.hostname, port: Number(amqp.port || 5672) });
  // An earlier deployment declared the spoke's queue: events published during the outage wait in it.
  auth = await connectBus({ url: testAmqpUrl(), service: 'user', prefix, logger });
  await auth.consume({ ...USER_REGISTERED_QUEUE, db: pool, handler: async () => undefined });
  await auth.close();
  auth = await connectBus({ url: testAmqpUrl(), service: 'auth', prefix, logger });

  proxy.cut();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  service = spawnService(ENTRY, {
    PORT: String(port), PUBLIC_URL: base, DATABASE_URL: database.url, REDIS_URL: testRedisUrl(),
    AMQP_URL: proxy.url('amqp', `${decodeURIComponent(amqp.username)}:${decodeURIComponent(amqp.password)}`), AMQP_PREFIX: prefix,
    REGISTRY_KEY: testRegistryKey('user'), REGISTRY_KEY_PREFIX: prefix,
    AUTH_JWKS_URL: `http://127.0.0.1:${jwksPort}${JWKS_PATH}`, AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE,
    DRAIN_DELAY_MS: '300ms', SHUTDOWN_TIMEOUT_MS: '15s', LOG_LEVEL: 'info',
  });
});

afterAll(async () => {
  if (service?.child.exitCode === null) service.child.kill('SIGKILL');
  await auth?.close();
  await proxy?.close();
  await new Promise((resolve) => jwks?.close(resolve));
  await deleteTestTopology(prefix, [`${prefix}.user.user-registered`, `${prefix}.probe.user-updated`]);
  await pool?.end();
  await database?.drop();
});

describe('user service with RabbitMQ unreachable at start', () => {
  test('when the broker is cut, then it is live, degraded, serves profiles, and catches up once the broker returns', async () => {
    // Live at once; ready (degraded) once migrated and started: the broker is not needed for that.
    await eventually(async () => (await get('/health')).status === 200, 30_000);
    await eventually(async () => (await get('/ready')).status !== 503, 30_000);
    const ready = await get('/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'degraded', degraded: ['rabbitmq'] });

    // Postgres is all a profile needs: reads and changes work, events wait in the outbox.
    const early = randomUUID();
    const earlyToken = await tokenFor(keys, early);
    expect((await get('/me', earlyToken)).status).toBe(200);
    const patched = await fetch(`${base}/me`, {
      method: 'PATCH', headers: { authorization: `Bearer ${earlyToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Offline Edit' }),
    });
    expect(patched.status).toBe(200);

    // Registrations published while the spoke can't reach the broker.
    const registered = Array.from({ length: 5 }, () => randomUUID());
    for (const userId of registered) await auth.publish(registeredEnvelope({ userId, email: `${userId.slice(0, 8)}@example.com`, name: 'Queued', role: 'user' }));
    const probe = await connectBus({ url: testAmqpUrl(), service: 'probe', prefix, logger });
    await probe.consume({ name: 'user-updated', bindings: ['user.updated.v1'], db: pool, handler: async () => undefined });
    const updated = probe.waitFor('consumed', (c) => (c.envelope.payload as { userId: string }).userId === early, 40_000);

    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await get('/health')).status).toBe(200);
    proxy.restore();

    await eventually(async () => ((await (await get('/ready')).json()) as { status: string }).status === 'ready', 30_000, 200);
    const admin = await tokenFor(keys, randomUUID(), 'admin');
    for (const userId of registered) {
      const profile = await eventually(async () => {
        const res = await get(`/${userId}`, admin);
        return res.status === 200 ? ((await res.json()) as { email: string }) : undefined;
      }, 15_000, 100);
      expect(profile).toMatchObject({ email: `${userId.slice(0, 8)}@example.com` });
    }
    expect((await updated).envelope).toMatchObject({ type: 'user.updated', payload: { userId: early, changes: { name: 'Offline Edit' } } });
    await probe.close();
    const failedAt = service.logs.findIndex((l) => l.msg === 'amqp connect failed');
    expect(failedAt).toBeGreaterThanOrEqual(0);
    expect(failedAt).toBeLessThan(service.logs.findIndex((l) => l.msg === 'amqp connected'));
  });

  test('when the connection drops while running, then it reconnects and consumes what was published meanwhile', async () => {
    proxy.cut();
    await eventually(async () => ((await (await get('/ready')).json()) as { status: string }).status === 'degraded', 10_000, 100);
    const userId = randomUUID();
    await auth.publish(registeredEnvelope({ userId, email: 'during-cut@example.com', name: 'Cut', role: 'user' }));
    proxy.restore();
    const admin = await tokenFor(keys, randomUUID(), 'admin');
    await eventually(async () => (await get(`/${userId}`, admin)).status === 200, 30_000, 100);
  });

  test('when SIGTERM arrives, then it drains, deregisters, closes and exits 0', async () => {
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const messages = service.logs.map((line) => line.msg);
    expect(messages).toEqual(expect.arrayContaining(['registry: instance deregistered', 'shutdown complete']));
    expect(service.logs).not.toContainEqual(expect.objectContaining({ msg: 'shutdown step failed' }));
  });
});
