import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { describeLoad, eventually, metricValue, startLoad, uniquePrefix } from '@hubspoke/kit/testing';
import { UPSTREAM_DEFAULTS } from '../src/config.js';
import { startHub, type TestHub } from './support/hub.js';
import { startSpoke, startSpokes, stopAll, type Spoke, type SpokeOptions } from './support/spokes.js';

const keyPrefix = `${uniquePrefix('hub-failover')}:`;
// Sub-second failover is the target; asserted with a margin for 2 shared cores.
const SLOWEST_MS = 1_500;
const CLIENTS = 20;
// Load tests need no token: the example spoke declares every GET public.
const PUBLIC = { PUBLIC_ROUTES: JSON.stringify([{ method: 'GET', path: '/*' }]), TTL_MS: '3000', HEARTBEAT_MS: '1000' };
let hub: TestHub;
let spokes: Spoke[] = [];

const spoke = (service: string, env: Record<string, string> = {}): SpokeOptions => ({ keyPrefix, service, env: { ...PUBLIC, ...env } });
const ready = (prefix: string, count: number) =>
  eventually(() => hub.registry.instances().filter((i) => i.routePrefix === prefix && i.status === 'ready').length === count, 10_000);

beforeAll(async () => {
  hub = await startHub({ keyPrefix, config: { upstream: { ...UPSTREAM_DEFAULTS, attemptTimeoutMs: 400 } } });
});
afterEach(async () => {
  await stopAll(spokes);
  spokes = [];
});
afterAll(async () => {
  await hub?.close();
});

describe('an instance lost under steady GET load', () => {
  test('when 1 of 3 instances is SIGKILLed mid-load, then (almost) no request fails and none waits long: failures retry on another', async () => {
    spokes = await startSpokes(3, spoke('crash'));
    await ready('crash', 3);
    const load = startLoad(`${hub.url}/api/crash/work`, { total: 6000, concurrency: CLIENTS, maxMs: 40_000 });
    await eventually(() => load.completed() >= 1500, 20_000, 5);
    await spokes[0]!.kill('SIGKILL');
    const result = await load.done;
    const retries = await metricValue(hub, 'hub_proxy_retries_total{service="crash"}');
    console.warn(`SIGKILL 1 of 3 under load: ${describeLoad(result)}; hub retries ${retries}`);
    expect(result.total).toBe(6000);
    expect(result.failed / result.total).toBeLessThanOrEqual(0.001);
    expect(result.slowestMs).toBeLessThan(SLOWEST_MS);
  });

  test('when 1 of 3 instances hangs (SIGSTOP) mid-load, then (almost) no request fails and none waits long: attempts past their timeout retry on another', async () => {
    spokes = await startSpokes(3, spoke('hung'));
    await ready('hung', 3);
    const load = startLoad(`${hub.url}/api/hung/work`, { total: 6000, concurrency: CLIENTS, maxMs: 40_000 });
    await eventually(() => load.completed() >= 1500, 20_000, 5);
    spokes[0]!.process.child.kill('SIGSTOP');
    const result = await load.done;
    const [retries, timeouts, opened] = await Promise.all([
      metricValue(hub, 'hub_proxy_retries_total{service="hung"}'), metricValue(hub, 'hub_upstream_errors_total{service="hung",kind="timeout"}'),
      metricValue(hub, 'hub_breaker_transitions_total{service="hung",from="closed",to="open"}'),
    ]);
    console.warn(`SIGSTOP 1 of 3 under load: ${describeLoad(result)}; hub retries ${retries}, attempt timeouts ${timeouts}, breaker opened ${opened}`);
    expect(result.total).toBe(6000);
    expect(result.failed / result.total).toBeLessThanOrEqual(0.001);
    expect(result.slowestMs).toBeLessThan(SLOWEST_MS);
  });

  test('when 1 of 3 instances is SIGTERMed mid-load, then no request fails and the draining instance gets no new requests', async () => {
    spokes = await startSpokes(3, spoke('drain', { DRAIN_DELAY_MS: '1500' }));
    await ready('drain', 3);
    const load = startLoad(`${hub.url}/api/drain/work`, { total: 4000, concurrency: 8 });
    await eventually(() => load.completed() >= 1000, 20_000, 5);
    const exited = spokes[0]!.kill('SIGTERM');
    await eventually(() => hub.registry.instances().some((i) => i.instanceId === spokes[0]!.instanceId && i.status === 'draining'), 2_000, 5);
    const afterDrain = startLoad(`${hub.url}/api/drain/work`, { total: 60, concurrency: 2 });
    const [result, drained, code] = await Promise.all([load.done, afterDrain.done, exited]);
    console.warn(`SIGTERM 1 of 3 under load: failed/total = ${result.failed}/${result.total} ${JSON.stringify(result.failures)}; exit code ${code}`);
    expect(code).toBe(0);
    expect(result).toMatchObject({ total: 4000, failed: 0 });
    expect(drained.failed).toBe(0);
    expect(drained.byInstance[spokes[0]!.instanceId]).toBeUndefined();
  });
});

describe('the hub held up while an instance answers', () => {
  test('when the hub\'s event loop is blocked past the attempt timeout while the instance answers in time, then that answer is used: no timeout, no retry', async () => {
    spokes = await startSpokes(2, spoke('held'));
    await ready('held', 2);
    const received = async () => (await Promise.all(spokes.map((s) => s.received()))).reduce((a, b) => a + b, 0);
    const timeouts = () => metricValue(hub, 'hub_upstream_errors_total{service="held",kind="timeout"}');
    const [before, timeoutsBefore] = [await received(), await timeouts()];
    const pending = fetch(`${hub.url}/api/held/slow?ms=50`);
    await eventually(async () => (await received()) === before + 1, 5_000, 5);
    // This process is the hub's: hold its thread past the 400 ms attempt timeout while the spoke answers at 50 ms.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await timeouts()).toBe(timeoutsBefore);
    expect(await received()).toBe(before + 1);
  });
});

describe('every instance of one spoke down', () => {
  test('when all instances of a spoke are SIGKILLed, then its clients get fast 503s with Retry-After while other prefixes work', async () => {
    const [gone1, gone2, alive] = await Promise.all([startSpoke(spoke('gone')), startSpoke(spoke('gone')), startSpoke(spoke('alive'))]);
    spokes = [gone1!, gone2!, alive!];
    await ready('gone', 2);
    await ready('alive', 1);
    await Promise.all([gone1!.kill('SIGKILL'), gone2!.kill('SIGKILL')]);

    const killedAt = Date.now();
    const seen: Record<number, number> = {};
    let slowest = 0;
    let firstNoInstanceMs: number | undefined;
    // Until the records expire (TTL 3 s), connection failures are 502s and trip the breakers (then 503s).
    while (Date.now() - killedAt < 6_000) {
      const started = Date.now();
      const res = await fetch(`${hub.url}/api/gone/x`);
      const body = (await res.json()) as { error?: { code?: string; requestId?: string } };
      slowest = Math.max(slowest, Date.now() - started);
      seen[res.status] = (seen[res.status] ?? 0) + 1;
      expect([502, 503]).toContain(res.status);
      expect(body.error?.requestId).toEqual(expect.any(String));
      if (res.status === 503) {
        expect(body.error?.code).toBe('HUB.NO_INSTANCE');
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        firstNoInstanceMs ??= Date.now() - killedAt;
      }
      expect((await fetch(`${hub.url}/api/alive/x`)).status).toBe(200);
      await sleep(20);
    }
    console.warn(`all instances down: statuses ${JSON.stringify(seen)}, first 503 after ${firstNoInstanceMs} ms, slowest answer ${slowest} ms`);
    expect(firstNoInstanceMs).toBeLessThan(2_000);
    expect(slowest).toBeLessThan(500);
  });

  test('when all instances of a spoke shut down gracefully, then its prefix answers 503 HUB.NO_INSTANCE at once, not 404', async () => {
    spokes = await startSpokes(2, spoke('leaving', { DRAIN_DELAY_MS: '200' }));
    await ready('leaving', 2);
    await Promise.all(spokes.map((s) => s.kill('SIGTERM')));
    await ready('leaving', 0);
    const started = Date.now();
    const res = await fetch(`${hub.url}/api/leaving/x`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: { code: 'HUB.NO_INSTANCE' } });
    expect(Date.now() - started).toBeLessThan(200);
  });
});
