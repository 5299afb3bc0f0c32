import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestKeys, describeLoad, eventually, type LoadResult, metricValue, signTestToken, startLoad, uniquePrefix } from '@hubspoke/kit/testing';
import { startHubProcess, startJwksServer, type HubProcess } from './support/hub-process.js';
import { startSpoke, type Spoke } from './support/spokes.js';

const keyPrefix = `${uniquePrefix('hub-saturation')}:`;
// Short, so a request stuck until the deadline shows within the next run; each run lasts longer than it.
const DEADLINE_MS = 2_000;
const RUN_MS = 3_000;
const CLIENTS = 50;
const SHED_ABOVE = 10;
// Rate limits out of the way: one address and one user send everything.
const HUB_ENV = { RATE_LIMIT_IP_MAX: '100000000', RATE_LIMIT_USER_MAX: '100000000', UPSTREAM_TIMEOUT_MS: String(DEADLINE_MS) };
let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let hubs: HubProcess[] = [];
let spoke: Spoke;
let headers: Record<string, string>;

beforeAll(async () => {
  const keys = await createTestKeys();
  // A private route with a token, as a client's GET /api/users/me: the hub verifies it before proxying.
  headers = { authorization: `Bearer ${await signTestToken(keys, { sub: 'u-1', role: 'user' })}` };
  jwks = await startJwksServer(keys);
  spoke = await startSpoke({ keyPrefix, service: 'busy' });
  hubs = await Promise.all([
    startHubProcess({ keyPrefix, jwksUrl: jwks.url, env: HUB_ENV }),
    startHubProcess({ keyPrefix, jwksUrl: jwks.url, env: { ...HUB_ENV, UPSTREAM_MAX_OUTSTANDING: String(SHED_ABOVE) } }),
  ]);
  for (const hub of hubs) await eventually(async () => (await fetch(`${hub.url}/api/busy/x`, { headers })).status === 200, 10_000);
});
afterAll(async () => {
  await spoke?.kill('SIGKILL');
  for (const hub of hubs) hub.process.child.kill('SIGKILL');
  await Promise.all(hubs.map(async (hub) => {
    await hub.process.exited;
    await hub.cleanup();
  }));
  await jwks?.close();
});

const series = (hub: HubProcess) => ({
  timeouts: () => metricValue(hub, 'hub_upstream_errors_total{service="busy",kind="timeout"}'),
  opened: () => metricValue(hub, 'hub_breaker_transitions_total{service="busy",from="closed",to="open"}'),
  breaker: () => metricValue(hub, `hub_breaker_state{service="busy",spoke_instance="${spoke.instanceId}"}`),
  outstanding: () => metricValue(hub, `hub_upstream_outstanding{service="busy",spoke_instance="${spoke.instanceId}"}`),
  shed: () => metricValue(hub, 'hub_shed_requests_total{service="busy"}'),
});

describe('a sole healthy instance at saturation', () => {
  test('when 50 clients saturate it and leave mid-request at the end of each run, then no request waits for the deadline and its breaker never opens', async () => {
    const hub = hubs[0]!;
    const metrics = series(hub);
    const runs: LoadResult[] = [];
    for (let run = 0; run < 3; run++) {
      runs.push(await startLoad(`${hub.url}/api/busy/work`, { total: 100_000, concurrency: CLIENTS, maxMs: RUN_MS, abandonAtEnd: true, headers }).done);
    }
    // Requests the clients left behind end with them, not at the deadline.
    await eventually(async () => (await metrics.outstanding()) === 0, DEADLINE_MS / 2, 20);
    const [timeouts, opened, breaker] = await Promise.all([metrics.timeouts(), metrics.opened(), metrics.breaker()]);
    for (const [i, run] of runs.entries()) console.warn(`saturation run ${i + 1}: ${describeLoad(run)}`);
    console.warn(`saturation: hub timeouts ${timeouts}, breaker opened ${opened} times, state now ${breaker}`);
    expect(timeouts).toBe(0);
    expect(opened).toBe(0);
    expect(runs.reduce((n, r) => n + r.failed, 0)).toBe(0);
    expect(Math.min(...runs.map((r) => r.total))).toBeGreaterThan(100);
  });

  test('when the load exceeds its outstanding-request limit, then the excess is shed at once with 503 + Retry-After, counted, and never trips the breaker', async () => {
    const hub = hubs[1]!;
    const metrics = series(hub);
    const result = await startLoad(`${hub.url}/api/busy/work`, { total: 100_000, concurrency: CLIENTS, maxMs: RUN_MS, headers }).done;
    const shedRes = await eventually(async () => {
      const all = await Promise.all(Array.from({ length: CLIENTS }, () => fetch(`${hub.url}/api/busy/slow?ms=200`, { headers })));
      return all.find((res) => res.status === 503);
    }, 10_000);
    const [shed, timeouts, opened] = await Promise.all([metrics.shed(), metrics.timeouts(), metrics.opened()]);
    console.warn(`shedding above ${SHED_ABOVE} outstanding: ${describeLoad(result)}; shed ${shed}, hub timeouts ${timeouts}, breaker opened ${opened} times`);
    expect(await shedRes.json()).toMatchObject({ error: { code: 'HUB.OVERLOADED' } });
    expect(shedRes.headers.get('retry-after')).toBe('1');
    expect(shed).toBeGreaterThanOrEqual(result.failures['503'] ?? 0);
    expect(Object.keys(result.failures)).toEqual(result.failed ? ['503'] : []);
    expect(result.total - result.failed).toBeGreaterThan(100);
    expect(timeouts).toBe(0);
    expect(opened).toBe(0);
  });
});
