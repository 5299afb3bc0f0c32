import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, uniquePrefix } from '@hubspoke/kit/testing';
import { HUB_TEST_CONFIG, metricValue, startHub, type TestHub } from './support/hub.js';
import { startSpoke, startSpokes, stopAll, type Spoke, type SpokeOptions } from './support/spokes.js';

const keyPrefix = `${uniquePrefix('hub-breaker')}:`;
const PUBLIC = { PUBLIC_ROUTES: JSON.stringify([{ method: 'GET', path: '/*' }]) };
const COOL_DOWN_MS = 1_000;
const SLOW_DEADLINE_MS = 1_000;
let hub: TestHub;
let spokes: Spoke[] = [];

const spoke = (service: string): SpokeOptions => ({ keyPrefix, service, env: PUBLIC });
const breakerOf = (instanceId: string) => metricValue(hub, `hub_breaker_state{service="flaky",instance="${instanceId}"}`);

beforeAll(async () => {
  hub = await startHub({
    keyPrefix,
    config: { breaker: { ...HUB_TEST_CONFIG.breaker, coolDownMs: COOL_DOWN_MS }, upstreamTimeoutByPrefix: { slow: SLOW_DEADLINE_MS } },
  });
  spokes = [...(await startSpokes(3, spoke('flaky'))), await startSpoke(spoke('slow')), await startSpoke(spoke('quick'))];
  await eventually(() => hub.registry.instances().length === 5, 10_000);
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
