import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@hubspoke/kit/testing';
import type { Instance } from '../support/platform.js';
import { figure } from './support/figures.js';
import { failedShare, loadThrough } from './support/faults.js';
import { PASSWORD, registerUser, startChaosWorld, type ChaosWorld, type TestUser } from './support/world.js';

// The registry and the rate limits live in Redis; routing must not. Documented choice (README, Configuration):
// with Redis down a route fails open to a per-process limit, login fails closed (503 RATE_LIMIT.UNAVAILABLE).
const NO_LIMITS = { RATE_LIMIT_IP_MAX: '1000000', RATE_LIMIT_USER_MAX: '1000000' };
// Nothing on the request path may wait for Redis: the slowest answer stays far below UPSTREAM_TIMEOUT_MS (10 s).
const SLOWEST_MS = 2_500;
// A spoke rewrites its record every 3 s (HEARTBEAT_MS): back within a heartbeat, plus the margin of 2 shared cores.
const REREGISTER_MS = 6_000;
let world: ChaosWorld;
let hub: Instance;
let user: TestUser;

beforeAll(async () => {
  world = await startChaosWorld({ replicas: { user: 2 }, hubEnv: NO_LIMITS });
  hub = world.platform.instances('hub')[0]!;
  user = await registerUser(world, 'chaos-redis');
});
afterAll(async () => {
  await world?.stop();
});

const meLoad = (tag: string) => ({ total: 1500, concurrency: 6, maxMs: 20_000, requestTimeoutMs: 10_000, headers: { authorization: `Bearer ${user.token}` }, requestIdPrefix: tag, injectAfter: 300 });
const login = (tag: string) => world.api('POST', '/auth/login', { body: { email: user.email, password: PASSWORD }, headers: { 'x-request-id': tag } });

/** Live instance records in the private Redis, as the spokes wrote them. */
async function registeredInstances(): Promise<number> {
  const redis = new Redis(world.redis.url, { maxRetriesPerRequest: 0, lazyConnect: true });
  try {
    await redis.connect();
    return (await redis.keys(`${world.platform.prefix}*registry:instance:*`)).length;
  } finally {
    redis.disconnect();
  }
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = Date.now();
  const result = await work();
  return [result, Date.now() - started];
}

describe('Redis lost under load', () => {
  test('when Redis stops, then the hub routes on its last table, login fails closed, and the spokes re-register when it returns', async () => {
    const row = figure('Redis stopped', `0 failed, slowest < ${SLOWEST_MS} ms, login 503 + Retry-After, re-registered < ${REREGISTER_MS} ms`);
    expect(await registeredInstances()).toBe(3);
    const result = await loadThrough(`${hub.url}/api/users/me`, meLoad('chaos-redis-stop'), () => world.redis.stop());
    const [refused, loginMs] = await timed(() => login('chaos-redis-stop-login'));
    const ready = (await (await fetch(`${hub.url}/ready`)).json()) as { status: string; degraded?: string[] };

    // Back empty, as after a crash without persistence; timed from the start, which the spokes may see before we do.
    const [, reregisterMs] = await timed(async () => {
      await world.redis.start();
      await eventually(async () => (await registeredInstances()) === 3, 15_000, 50);
    });
    await eventually(async () => (await login('chaos-redis-back-login')).status === 200, 10_000, 200);

    const measured = `${failedShare(result)}; login ${refused.status} ${refused.body.error?.code} in ${loginMs} ms; /ready ${ready.status} ${JSON.stringify(ready.degraded)}; all 3 re-registered ${reregisterMs} ms after Redis was started again`;
    const pass = result.failed === 0 && result.slowestMs < SLOWEST_MS && refused.status === 503 && reregisterMs < REREGISTER_MS;
    expect(row.measured(measured, pass)).toBe(true);
    expect(refused.body.error?.code).toBe('RATE_LIMIT.UNAVAILABLE');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(ready).toMatchObject({ status: 'degraded', degraded: ['redis'] });
  });

  test('when Redis hangs (SIGSTOP), then no request waits past its deadline, login fails closed in time, and routing resumes on its return', async () => {
    const row = figure('Redis hung (SIGSTOP)', `0 failed, slowest < ${SLOWEST_MS} ms, login 503 < ${SLOWEST_MS} ms, re-registered < ${REREGISTER_MS} ms`);
    await eventually(async () => (await registeredInstances()) === 3, 10_000, 100);
    const result = await loadThrough(`${hub.url}/api/users/me`, meLoad('chaos-redis-hang'), async () => world.redis.pause());
    const [refused, loginMs] = await timed(() => login('chaos-redis-hang-login'));

    world.redis.resume();
    const [, reregisterMs] = await timed(() => eventually(async () => (await registeredInstances()) === 3, 15_000, 50));
    await eventually(async () => (await login('chaos-redis-resumed-login')).status === 200, 10_000, 200);

    const measured = `${failedShare(result)}; login ${refused.status} ${refused.body.error?.code} in ${loginMs} ms; 3 instances registered ${reregisterMs} ms after Redis resumed`;
    const pass = result.failed === 0 && result.slowestMs < SLOWEST_MS && refused.status === 503 && loginMs < SLOWEST_MS && reregisterMs < REREGISTER_MS;
    expect(row.measured(measured, pass)).toBe(true);
    expect(refused.body.error?.code).toBe('RATE_LIMIT.UNAVAILABLE');
  });
});
