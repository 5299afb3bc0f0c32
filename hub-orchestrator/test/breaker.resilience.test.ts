import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, metricValue, uniquePrefix } from '@hubspoke/kit/testing';
import { HUB_TEST_CONFIG, startHub, type TestHub } from './support/hub.js';
import { startSpoke, startSpokes, stopAll, type Spoke, type SpokeOptions } from './support/spokes.js';

const keyPrefix = `${uniquePrefix('hub-breaker')}:`;
const PUBLIC = { PUBLIC_ROUTES: JSON.stringify([{ method: 'GET', path: '/*' }]) };
const COOL_DOWN_MS = 1_000;
const SLOW_DEADLINE_MS = 1_000;
let hub: TestHub;
let spokes: Spoke[] = [];

const spoke = (service: string): SpokeOptions => ({ keyPrefix, service, env: PUBLIC });
const breakerOf = (instanceId: string, service = 'flaky') => metricValue(hub, `hub_breaker_state{service="${service}",spoke_instance="${instanceId}"}`);
const transitions = (service: string, from: string, to: string) => metricValue(hub, `hub_breaker_transitions_total{service="${service}",from="${from}",to="${to}"}`);

beforeAll(async () => {
  hub = await startHub({
    keyPrefix,
    config: {
      breaker: { ...HUB_TEST_CONFIG.breaker, coolDownMs: COOL_DOWN_MS },
      upstreamTimeoutByPrefix: { slow: SLOW_DEADLINE_MS, sluggish: SLOW_DEADLINE_MS },
    },
  });
  spokes = [
    ...(await startSpokes(3, spoke('flaky'))), await startSpoke(spoke('slow')), await startSpoke(spoke('quick')), await startSpoke(spoke('sluggish')),
  ];
  await eventually(() => hub.registry.instances().length === 6, 10_000);
});
afterAll(async () => {
  await stopAll(spokes);
  await hub?.close();
});

async function burst(path: string, count: number): Promise<Record<string, number>> {
  const byInstance: Record<string, number> = {};
  await Promise.all(Array.from({ length: count }, async () => {
    const res = await fetch(`${hub.url}${path}`);
    const body = (await res.json()) as { instanceId?: string; error?: { instanceId?: string } };
    const key = `${res.status}:${body.instanceId ?? body.error?.instanceId ?? '-'}`;
    byInstance[key] = (byInstance[key] ?? 0) + 1;
  }));
  return byInstance;
}

describe('an instance answering 500', () => {
  test('when one instance fails, then its breaker opens, traffic shifts away, and after the cool-down a healthy probe closes it', async () => {
    const bad = spokes[0]!;
    await bad.setMode('error');
    const failingFrom = Date.now();
    while ((await breakerOf(bad.instanceId)) !== 2) {
      await burst('/api/flaky/x', 6);
      expect(Date.now() - failingFrom).toBeLessThan(10_000);
    }
    const openedAfterMs = Date.now() - failingFrom;

    const shifted = await burst('/api/flaky/x', 60);
    const to = (prefix: string) => Object.entries(shifted).filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
    expect(to('200:')).toBeGreaterThanOrEqual(59); // at most one half-open probe may still hit the failing instance
    expect(shifted[`200:${bad.instanceId}`]).toBeUndefined();

    await bad.setMode('ok');
    const healthyFrom = Date.now();
    while ((await breakerOf(bad.instanceId)) !== 0) {
      await burst('/api/flaky/x', 3);
      await sleep(50);
      expect(Date.now() - healthyFrom).toBeLessThan(COOL_DOWN_MS + 5_000);
    }
    const closedAfterMs = Date.now() - healthyFrom;
    const errors = await metricValue(hub, 'hub_upstream_errors_total{service="flaky",kind="5xx"}');
    console.warn(`breaker: opened ${openedAfterMs} ms after the instance started failing (${errors} upstream 5xx); closed ${closedAfterMs} ms after it recovered (cool-down ${COOL_DOWN_MS} ms)`);
    const back = await burst('/api/flaky/x', 60);
    expect(back[`200:${bad.instanceId}`]).toBeGreaterThan(0);
  });
});

describe('an instance answering 503 with Retry-After (its database restarting)', () => {
  const sequential = async (count: number) => {
    const answers: { status: number; code?: string; instanceId?: string; retryAfter: string | null }[] = [];
    for (let n = 0; n < count; n++) {
      const res = await fetch(`${hub.url}/api/flaky/x`);
      const body = (await res.json()) as { instanceId?: string; error?: { code?: string; instanceId?: string } };
      answers.push({ status: res.status, code: body.error?.code, instanceId: body.instanceId ?? body.error?.instanceId, retryAfter: res.headers.get('retry-after') });
    }
    return answers;
  };
  const breakers = () => Promise.all(spokes.slice(0, 3).map((s) => breakerOf(s.instanceId)));

  test('when one of three instances asks for time, then its breaker stays closed and the others take the traffic until its Retry-After is up', async () => {
    const asking = spokes[1]!;
    await asking.setMode('unavailable');
    const started = Date.now();
    const answers = await sequential(60);
    const windows = Math.ceil((Date.now() - started) / 1000);
    await asking.setMode('ok');
    const toAsking = answers.filter((a) => a.instanceId === asking.instanceId);
    expect(toAsking.every((a) => a.status === 503 && a.retryAfter === '1')).toBe(true);
    // One request per Retry-After (1 s) at most, instead of a third of them.
    expect(toAsking.length).toBeLessThanOrEqual(windows + 1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(60 - toAsking.length);
    expect(await breakers()).toEqual([0, 0, 0]);
  });

  test('when every instance asks for time, then clients get the spokes\' own 503 with Retry-After, no breaker opens, and the first request after recovery is a 200', async () => {
    await Promise.all(spokes.slice(0, 3).map((s) => s.setMode('unavailable')));
    const answers = await sequential(3 * HUB_TEST_CONFIG.breaker.consecutiveFailures + 5);
    await Promise.all(spokes.slice(0, 3).map((s) => s.setMode('ok')));
    const [first] = await sequential(1);
    expect(answers.map((a) => `${a.status} ${a.code} ${a.retryAfter}`)).toEqual(answers.map(() => '503 TEST.UNAVAILABLE 1'));
    expect(await breakers()).toEqual([0, 0, 0]);
    expect(first).toMatchObject({ status: 200 });
  });
});

describe('a slow instance', () => {
  test('when a spoke does not answer in time, then the client gets 504 at the deadline while another prefix is unaffected', async () => {
    const quickTimes: number[] = [];
    let slowDone = false;
    const quick = (async () => {
      while (!slowDone) {
        const started = Date.now();
        expect((await fetch(`${hub.url}/api/quick/x`)).status).toBe(200);
        quickTimes.push(Date.now() - started);
        await sleep(20);
      }
    })();
    const started = Date.now();
    const res = await fetch(`${hub.url}/api/slow/slow?ms=5000`);
    const elapsed = Date.now() - started;
    slowDone = true;
    await quick;
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: 'HUB.UPSTREAM_TIMEOUT', requestId: expect.any(String) } });
    console.warn(`slow instance: 504 after ${elapsed} ms (deadline ${SLOW_DEADLINE_MS} ms); other prefix meanwhile: ${quickTimes.length} requests, slowest ${Math.max(...quickTimes)} ms`);
    expect(Math.abs(elapsed - SLOW_DEADLINE_MS)).toBeLessThanOrEqual(100);
    expect(quickTimes.length).toBeGreaterThan(5);
    expect(Math.max(...quickTimes)).toBeLessThan(250);
  });

  test('when a request is proxied, then the spoke is told the time budget left', async () => {
    const res = await fetch(`${hub.url}/api/slow/echo`);
    const { headers } = (await res.json()) as { headers: Record<string, string> };
    const budget = Number(headers['x-request-deadline-ms']);
    expect(budget).toBeGreaterThan(SLOW_DEADLINE_MS - 200);
    expect(budget).toBeLessThanOrEqual(SLOW_DEADLINE_MS);
  });
});

describe('a sole instance slower than the deadline', () => {
  test('when every request outlasts the deadline, then each gets 504 at the deadline, the breaker opens, and once the instance answers in time a half-open probe closes it', async () => {
    const sluggish = spokes[5]!;
    const seen: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const state = await breakerOf(sluggish.instanceId, 'sluggish');
        if (seen.at(-1) !== state) seen.push(state);
        await sleep(10);
      }
    })();
    await eventually(() => seen.length > 0, 2_000, 10);

    const timed = await Promise.all(Array.from({ length: HUB_TEST_CONFIG.breaker.consecutiveFailures }, async () => {
      const started = Date.now();
      const res = await fetch(`${hub.url}/api/sluggish/slow?ms=5000`);
      return { status: res.status, elapsed: Date.now() - started };
    }));
    await eventually(async () => (await breakerOf(sluggish.instanceId, 'sluggish')) === 2, 2_000, 10);
    const whileOpen = Date.now();
    const open = await fetch(`${hub.url}/api/sluggish/slow?ms=300`);
    const openAnswerMs = Date.now() - whileOpen;

    // Recovered: it answers in 300 ms, well within the deadline, and the probe takes that long (half-open shows).
    const recovering = Date.now();
    await eventually(async () => (await fetch(`${hub.url}/api/sluggish/slow?ms=300`)).status === 200, COOL_DOWN_MS + 5_000, 50);
    const closedAfterMs = Date.now() - recovering;
    await eventually(() => seen.at(-1) === 0, 2_000, 10);
    watching = false;
    await watcher;
    const counted = await Promise.all([
      transitions('sluggish', 'closed', 'open'), transitions('sluggish', 'open', 'half-open'), transitions('sluggish', 'half-open', 'closed'),
    ]);
    console.warn(`slower than the deadline: ${JSON.stringify(timed)} (deadline ${SLOW_DEADLINE_MS} ms); open: ${open.status} in ${openAnswerMs} ms; `
      + `closed ${closedAfterMs} ms after recovery (cool-down ${COOL_DOWN_MS} ms); hub_breaker_state seen ${JSON.stringify(seen)}; transitions ${JSON.stringify(counted)}`);
    for (const { status, elapsed } of timed) {
      expect(status).toBe(504);
      expect(Math.abs(elapsed - SLOW_DEADLINE_MS)).toBeLessThanOrEqual(250);
    }
    expect(open.status).toBe(503);
    expect(await open.json()).toMatchObject({ error: { code: 'HUB.NO_INSTANCE' } });
    expect(openAnswerMs).toBeLessThan(250);
    expect(seen).toEqual([0, 2, 1, 0]);
    expect(counted).toEqual([1, 1, 1]);
  });
});

describe('an instance that dies while its breaker is open', () => {
  test('when the cool-down ends after the instance stopped accepting connections, then no half-open probe is sent to it', async () => {
    const pair = await startSpokes(2, spoke('doomed'));
    spokes.push(...pair);
    const [doomed] = pair as [Spoke, Spoke];
    await eventually(() => hub.registry.instances().filter((i) => i.service === 'doomed').length === 2, 10_000);
    await doomed.setMode('error');
    const failingFrom = Date.now();
    while ((await breakerOf(doomed.instanceId, 'doomed')) !== 2) {
      await burst('/api/doomed/x', 6);
      expect(Date.now() - failingFrom).toBeLessThan(10_000);
    }
    await doomed.kill('SIGKILL');

    // Well past the cool-down, while the dead instance is still registered (its TTL is 10 s).
    const statuses: Record<number, number> = {};
    const until = Date.now() + COOL_DOWN_MS * 3;
    while (Date.now() < until) {
      const res = await fetch(`${hub.url}/api/doomed/x`);
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      await sleep(20);
    }
    const refused = await metricValue(hub, 'hub_upstream_errors_total{service="doomed",kind="refused"}');
    const state = await breakerOf(doomed.instanceId, 'doomed');
    console.warn(`died while open: statuses ${JSON.stringify(statuses)} over ${COOL_DOWN_MS * 3} ms; connections refused ${refused}; its breaker ${state}`);
    expect(Object.keys(statuses)).toEqual(['200']);
    expect(refused).toBe(0);
  });
});
