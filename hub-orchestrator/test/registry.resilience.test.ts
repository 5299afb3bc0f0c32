import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, test } from 'vitest';
import { eventually, metricValue, startPrivateRedis, uniquePrefix, type PrivateRedis } from '@hubspoke/kit/testing';
import { startHub, type TestHub } from './support/hub.js';
import { startSpoke, startSpokes, stopAll, type Spoke } from './support/spokes.js';

const PUBLIC = { PUBLIC_ROUTES: JSON.stringify([{ method: 'GET', path: '/*' }]) };
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function hubWithSpokes(redisUrl?: string): Promise<{ hub: TestHub; keyPrefix: string; spokes: Spoke[] }> {
  const keyPrefix = `${uniquePrefix('hub-registry')}:`;
  const hub = await startHub({ keyPrefix, ...(redisUrl ? { redisUrl } : {}) });
  const spokes: Spoke[] = [];
  cleanup.push(() => hub.close(), () => stopAll(spokes));
  return { hub, keyPrefix, spokes };
}

describe('a new spoke', () => {
  test('when a spoke registers a new prefix, then the running hub routes to it within 2 s with no hub change', async () => {
    const { hub, keyPrefix, spokes } = await hubWithSpokes();
    expect((await fetch(`${hub.url}/api/fresh/x`)).status).toBe(404);
    const spoke = startSpoke({ keyPrefix, service: 'fresh', env: PUBLIC });
    let firstRoutedAt = 0;
    while (!firstRoutedAt) {
      const res = await fetch(`${hub.url}/api/fresh/x`);
      if (res.status === 200) firstRoutedAt = Date.now();
      else await sleep(5);
    }
    const started = await spoke;
    spokes.push(started);
    const timeToTrafficMs = firstRoutedAt - started.registeredAt;
    console.warn(`new spoke: first routed request ${timeToTrafficMs} ms after its registration was written`);
    expect(timeToTrafficMs).toBeLessThan(2_000);
  });
});

describe('Redis down', () => {
  let redis: PrivateRedis;

  test('when Redis stops, then the hub keeps routing on its last table and /ready and metrics say degraded since when', async () => {
    redis = await startPrivateRedis();
    cleanup.push(() => redis.stop());
    const { hub, keyPrefix, spokes } = await hubWithSpokes(redis.url);
    spokes.push(...(await startSpokes(2, { keyPrefix, service: 'steady', redisUrl: redis.url, env: PUBLIC })));
    await eventually(() => hub.registry.instances().length === 2, 10_000);

    const stoppedAt = Math.floor(Date.now() / 1000);
    await redis.stop();
    await eventually(async () => (await (await fetch(`${hub.url}/ready`)).json() as { degraded: string[] }).degraded.includes('redis'), 5_000);
    const ready = await fetch(`${hub.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'degraded', degraded: ['redis'] });
    const downSince = await metricValue(hub, 'hub_registry_down_since_seconds{service="hub"}');
    expect(downSince).toBeGreaterThanOrEqual(stoppedAt - 1);

    const results = await Promise.all(Array.from({ length: 40 }, () => fetch(`${hub.url}/api/steady/x`).then((r) => r.status)));
    console.warn(`Redis down: ${results.filter((s) => s === 200).length}/${results.length} requests routed on the last table; down since ${downSince}`);
    expect(results.every((s) => s === 200)).toBe(true);

    await redis.start();
    await eventually(async () => (await (await fetch(`${hub.url}/ready`)).json() as { status: string }).status === 'ready', 10_000);
    expect(await metricValue(hub, 'hub_registry_down_since_seconds{service="hub"}')).toBe(0);
    await eventually(() => hub.registry.instances().length === 2, 10_000);
    expect((await fetch(`${hub.url}/api/steady/x`)).status).toBe(200);
  });
});
