import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, createRegistryReader, type RegistryReader } from '../src/index.js';
import { eventually, freePort, spawnService, testRedisUrl, testRegistryKey, uniquePrefix, TEST_REGISTRY_MASTER_KEY, type ServiceProcess } from '../src/testing/index.js';
import { startPrivatePostgres, type PrivatePostgres } from '../src/testing/private-postgres.js';

// The example service on a Postgres of its own, which these tests stop, restart and keep down.
const ENTRY = fileURLToPath(new URL('./fixtures/example-service/main.ts', import.meta.url));
const prefix = uniquePrefix('dbdown');
let postgres: PrivatePostgres;
let reader: RegistryReader;
const spawned: ServiceProcess[] = [];
let running: { service: ServiceProcess; base: string } | undefined;

interface Answer {
  status: number;
  code?: string;
  retryAfter: string | null;
  id?: string;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as { id?: string; error?: { code?: string } };
  return { status: res.status, code: json.error?.code, retryAfter: res.headers.get('retry-after'), id: json.id };
}

async function start(): Promise<{ service: ServiceProcess; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const service = spawnService(ENTRY, {
    PORT: String(port), PUBLIC_URL: base, DATABASE_URL: postgres.url, REDIS_URL: testRedisUrl(), REGISTRY_KEY: testRegistryKey('example'),
    REGISTRY_KEY_PREFIX: prefix, DRAIN_DELAY_MS: '200', SHUTDOWN_TIMEOUT_MS: '10s', LOG_LEVEL: 'info',
  });
  spawned.push(service);
  await eventually(async () => (await fetch(`${base}/health`)).status === 200, 30_000, 50);
  return { service, base };
}

const registered = (base: string) => reader.instances().some((i) => i.url === base);
const logged = (service: ServiceProcess, msg: string) => service.logs.filter((line) => line.msg === msg).length;

beforeAll(async () => {
  postgres = await startPrivatePostgres();
  reader = createRegistryReader({ redisUrl: testRedisUrl(), keyPrefix: prefix, masterKey: TEST_REGISTRY_MASTER_KEY, logger: createLogger({ service: 'test', level: 'silent' }) });
  await reader.start();
});
afterAll(async () => {
  for (const service of spawned) service.child.kill('SIGKILL');
  await reader?.close();
  await postgres?.remove();
});

describe('a service started while its database is down', () => {
  test('when SIGTERM arrives while it waits, then it stops at once and exits 0, never registered', async () => {
    await postgres.stop('fast');
    const { service, base } = await start();
    await eventually(() => logged(service, 'postgres unavailable: live but not ready, trying again until it answers') === 1, 10_000);
    const signalledAt = Date.now();
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(5_000);
    expect(registered(base)).toBe(false);
    expect(service.logs).toContainEqual(expect.objectContaining({ msg: 'shutdown complete', exitCode: 0 }));
  });

  test('when Postgres stays down, then it is live, not ready, unregistered and alive; once Postgres returns it is ready and registered within seconds', async () => {
    running = await start();
    const { service, base } = running;
    const seen: string[] = [];
    for (let n = 0; n < 6; n++) {
      const ready = await fetch(`${base}/ready`);
      seen.push(`${(await fetch(`${base}/health`)).status}/${ready.status} ${JSON.stringify(await ready.json())}`);
      await sleep(500);
    }
    const write = await call(base, 'POST', '/notes', { text: 'too early' });
    expect(seen).toEqual(seen.map(() => '200/503 {"status":"starting","missing":["postgres"],"degraded":[]}'));
    expect(write).toEqual({ status: 503, code: 'SERVICE.STARTING', retryAfter: '1' });
    expect(registered(base)).toBe(false);
    expect(service.child.exitCode).toBeNull();
    // Told once that it waits, however many attempts it made (every 2 s at most).
    expect(logged(service, 'postgres unavailable: live but not ready, trying again until it answers')).toBe(1);

    await postgres.restart();
    const back = Date.now();
    await eventually(async () => (await fetch(`${base}/ready`)).status === 200, 10_000, 50);
    const readyMs = Date.now() - back;
    await eventually(() => registered(base), 5_000);
    console.warn(`started with Postgres down: ready ${readyMs} ms after it returned`);
    expect(readyMs).toBeLessThan(4_000);
    expect(logged(service, 'postgres available: starting')).toBe(1);
    expect(await call(base, 'POST', '/notes', { text: 'in time' })).toMatchObject({ status: 201 });
  });
});

describe.each(['fast', 'immediate'] as const)('a database restarted (%s) under requests', (mode) => {
  test('when Postgres restarts, then requests in the gap get 503 DB.UNAVAILABLE with Retry-After, never 500, every acknowledged write is kept, and the process lives on', async () => {
    // The instance the previous case started, when it ran.
    running ??= await start();
    const { service, base } = running;
    await eventually(async () => (await fetch(`${base}/ready`)).status === 200, 10_000);
    const { id: readable } = await call(base, 'POST', '/notes', { text: 'before' });
    const answers: Answer[] = [];
    const kept: string[] = [];
    let restarting = true;
    const load = async (write: boolean) => {
      while (restarting) {
        const answer = write ? await call(base, 'POST', '/notes', { text: `during ${mode}` }) : await call(base, 'GET', `/notes/${readable}`);
        answers.push(answer);
        if (answer.status === 201) kept.push(answer.id!);
        await sleep(5);
      }
    };
    const loads = [load(false), load(false), load(true)];
    await sleep(300);
    await postgres.stop(mode);
    await postgres.restart();
    await sleep(1_500);
    restarting = false;
    await Promise.all(loads);

    const unavailable = answers.filter((a) => a.status === 503);
    const wrong = answers.filter((a) => ![200, 201].includes(a.status) && !(a.status === 503 && a.code === 'DB.UNAVAILABLE' && a.retryAfter === '1'));
    console.warn(`Postgres restarted (${mode}): ${answers.length} requests, ${unavailable.length} × 503 DB.UNAVAILABLE, wrong ${JSON.stringify(wrong.slice(0, 5))}`);
    expect(wrong).toEqual([]);
    expect(unavailable.length).toBeGreaterThan(0);
    expect(answers.at(-1)!.status).toBeLessThan(300);
    for (const id of kept) expect(await call(base, 'GET', `/notes/${id}`), id).toMatchObject({ status: 200 });
    expect(service.child.exitCode).toBeNull();
  });
});
