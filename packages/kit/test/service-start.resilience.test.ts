import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, createRegistryReader, METRICS_PATH, type RegistryReader } from '../src/index.js';
import {
  createTestDatabase, eventually, freePort, spawnService, testRedisUrl, testRegistryKey, uniquePrefix, TEST_REGISTRY_MASTER_KEY, type ServiceProcess, type TestDatabase,
} from '../src/testing/index.js';

const ENTRY = fileURLToPath(new URL('./fixtures/example-service/main.ts', import.meta.url));
const DRAIN_DELAY_MS = 1500;
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

let database: TestDatabase;
let reader: RegistryReader;
let service: ServiceProcess;
let base: string;
const prefix = uniquePrefix('example');

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(`${base}${path}`, { agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

beforeAll(async () => {
  database = await createTestDatabase('example');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  reader = createRegistryReader({ redisUrl: testRedisUrl(), keyPrefix: prefix, masterKey: TEST_REGISTRY_MASTER_KEY, logger: createLogger({ service: 'test', level: 'silent' }) });
  await reader.start();
  service = spawnService(ENTRY, {
    PORT: String(port), PUBLIC_URL: base, DATABASE_URL: database.url, REDIS_URL: testRedisUrl(), REGISTRY_KEY: testRegistryKey('example'),
    REGISTRY_KEY_PREFIX: prefix, DRAIN_DELAY_MS: String(DRAIN_DELAY_MS), SHUTDOWN_TIMEOUT_MS: '15s', LOG_LEVEL: 'info',
  });
  await eventually(async () => (await get('/ready')).status === 200, 30_000);
});

afterAll(async () => {
  service.child.kill('SIGKILL');
  await reader.close();
  agent.destroy();
  await database.drop();
});

describe('a service started by the kit (runService)', () => {
  test('when it starts, then it registers itself with its own url and answers through its routes', async () => {
    const record = await eventually(() => reader.instances().find((i) => i.service === 'example'), 5000);
    expect(record).toMatchObject({ url: base, routePrefix: 'example', status: 'ready' });

    const created = await fetch(`${base}/notes`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'req-note-1' }, body: JSON.stringify({ text: 'hello' }) });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    expect(await (await fetch(`${base}/notes/${id}`)).json()).toEqual({ id, text: 'hello' });
    expect((await fetch(`${base}/notes/not-a-uuid`)).status).toBe(400);
    expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'note created', requestId: 'req-note-1', service: 'example' }));
  });

  test('when it is scraped, then /internal/metrics shows its requests by route template', async () => {
    const text = await (await fetch(`${base}${METRICS_PATH}`)).text();
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/notes\/:id",status_code="200",service="example"\} 1/);
  });

  test('when SIGTERM arrives with requests in flight, then every request succeeds, it deregisters and exits 0', async () => {
    const started = service.logs.filter((line) => line.msg === 'slow request started').length;
    const inFlight = Array.from({ length: 20 }, () => get('/slow?ms=1200'));
    await eventually(() => service.logs.filter((line) => line.msg === 'slow request started').length === started + 20, 5000, 10);
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');

    await eventually(() => reader.instances().find((i) => i.service === 'example' && i.status === 'draining'), 2000);
    // The hub may still route here until it sees "draining": requests in the drain window are served.
    const duringDrain = await Promise.all(Array.from({ length: 10 }, () => get('/slow?ms=50')));
    const ready = await get('/ready');

    const results = await Promise.all(inFlight);
    const code = await service.exited;
    const failed = [...results, ...duringDrain].filter((r) => r.status !== 200).length;
    console.warn(`example service SIGTERM: ${failed}/${results.length + duringDrain.length} failed, exit ${code} after ${Date.now() - signalledAt} ms`);

    expect(failed).toBe(0);
    expect(ready.status).toBe(503);
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(DRAIN_DELAY_MS);
    await eventually(() => !reader.instances().some((i) => i.service === 'example'), 3000);
    expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'shutdown complete', exitCode: 0 }));
  });
});
