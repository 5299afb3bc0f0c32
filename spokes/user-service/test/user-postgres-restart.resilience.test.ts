import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JWKS_PATH } from '@hubspoke/kit';
import {
  createTestKeys, deleteTestTopology, eventually, freePort, spawnService, startPrivatePostgres, TEST_AUDIENCE, TEST_ISSUER,
  testAmqpUrl, testRedisUrl, uniquePrefix, type PrivatePostgres, type ServiceProcess, type TestKeys, testRegistryKey
} from '@hubspoke/kit/testing';
import { tokenFor } from './support/tokens.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const prefix = uniquePrefix('user-pg');

let postgres: PrivatePostgres;
let keys: TestKeys;
let jwks: Server;
let service: ServiceProcess;
let base: string;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  keys = await createTestKeys();
  jwks = createServer((req, res) => {
    res.writeHead(req.url === JWKS_PATH ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(keys.jwks));
  });
  const jwksPort = await freePort();
  await new Promise<void>((resolve) => jwks.listen(jwksPort, '127.0.0.1', resolve));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  service = spawnService(ENTRY, {
    PORT: String(port), PUBLIC_URL: base, DATABASE_URL: postgres.url, REDIS_URL: testRedisUrl(), AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix,
    REGISTRY_KEY: testRegistryKey('user'), REGISTRY_KEY_PREFIX: prefix,
    AUTH_JWKS_URL: `http://127.0.0.1:${jwksPort}${JWKS_PATH}`, AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE,
    DRAIN_DELAY_MS: '100ms', SHUTDOWN_TIMEOUT_MS: '15s', LOG_LEVEL: 'info',
  });
  await eventually(async () => (await fetch(`${base}/ready`)).status === 200, 30_000, 100);
}, 60_000);

afterAll(async () => {
  if (service?.child.exitCode === null) service.child.kill('SIGKILL');
  await new Promise((resolve) => jwks?.close(resolve));
  await postgres?.remove();
  await deleteTestTopology(prefix, [`${prefix}.user.user-registered`]);
});

describe('the user spoke while its Postgres restarts', () => {
  test('when Postgres shuts down fast, is killed and restarts under writes (outbox relay busy), then the process lives and serves again', async () => {
    const token = await tokenFor(keys, randomUUID(), 'user', { email: 'pg-restart@example.com' });
    const patch = (name: string) => fetch(`${base}/me`, {
      method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name }),
    }).then((res) => res.status, () => 0);
    expect(await patch('before')).toBe(200);

    // Writes keep the outbox relay publishing (its transaction waits on confirms) while the server goes away.
    let writing = true;
    const statuses: number[] = [];
    const writer = (async () => {
      for (let i = 0; writing && i < 5_000; i++) statuses.push(await patch(`name ${i}`));
    })();

    const outages: Array<() => Promise<void>> = [() => postgres.stop('fast'), () => postgres.kill(), () => postgres.stop('fast')];
    for (const outage of outages) {
      await eventually(() => statuses.filter((s) => s === 200).length > 0, 10_000, 20);
      statuses.length = 0;
      await outage();
      await eventually(async () => (await fetch(`${base}/ready`)).status === 503, 10_000, 50);
      await postgres.restart();
      await eventually(async () => (await fetch(`${base}/ready`)).status === 200, 20_000, 100);
    }
    await eventually(() => statuses.some((s) => s === 200), 10_000, 20);
    writing = false;
    await writer;

    expect(service.child.exitCode).toBeNull();
    expect(service.logs.filter((line) => line.level === 60 || /uncaught|unhandled/i.test(String(line.msg)))).toEqual([]);
    expect(await patch('after')).toBe(200);
    const me = await (await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } })).json() as { name: string };
    expect(me.name).toBe('after');
  }, 120_000);
});
