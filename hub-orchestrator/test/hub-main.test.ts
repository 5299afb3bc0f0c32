import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestKeys, eventually, signTestToken, uniquePrefix, type TestKeys } from '@hubspoke/kit/testing';
import { startHubProcess, startJwksServer, type HubProcess } from './support/hub-process.js';
import { startSpoke, type Spoke } from './support/spokes.js';

const keyPrefix = `${uniquePrefix('hub-main')}:`;
let keys: TestKeys;
let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let hubs: HubProcess[] = [];
let spoke: Spoke | undefined;

beforeAll(async () => {
  keys = await createTestKeys();
  jwks = await startJwksServer(keys);
  hubs = await Promise.all([0, 1].map(() => startHubProcess({ keyPrefix, jwksUrl: jwks.url, env: { DRAIN_DELAY_MS: '1000' } })));
  spoke = await startSpoke({ keyPrefix, service: 'shared' });
}, 40_000);

afterAll(async () => {
  await spoke?.kill('SIGKILL');
  for (const hub of hubs) if (hub.process.child.exitCode === null) hub.process.child.kill('SIGKILL');
  await Promise.all(hubs.map(async (hub) => {
    await hub.process.exited;
    await hub.cleanup();
  }));
  await jwks?.close();
});

describe('the hub as a process (src/main.ts)', () => {
  test('when two hub replicas share the registry, then both route a new spoke and verify tokens against the JWKS', async () => {
    const token = await signTestToken(keys, { sub: 'u-1', role: 'user' });
    for (const hub of hubs) {
      await eventually(async () => (await fetch(`${hub.url}/api/shared/x`, { headers: { authorization: `Bearer ${token}` } })).status === 200, 5_000);
    }
    const admin = await signTestToken(keys, { sub: 'admin-1', role: 'admin' });
    const res = await fetch(`${hubs[0]!.url}/api/hub/registry`, { headers: { authorization: `Bearer ${admin}` } });
    expect(await res.json()).toMatchObject({ spokes: [{ service: 'shared', instances: [{ instanceId: spoke!.instanceId, breaker: 'closed' }] }] });
  });

  test('when a replica gets SIGTERM, then it reports draining, exits 0 within its bounds, and the other keeps routing', async () => {
    const [leaving, staying] = hubs as [HubProcess, HubProcess];
    leaving.process.child.kill('SIGTERM');
    await eventually(async () => (await fetch(`${leaving.url}/ready`)).status === 503, 2_000, 20);
    expect(await leaving.process.exited).toBe(0);
    const token = await signTestToken(keys, { sub: 'u-1', role: 'user' });
    expect((await fetch(`${staying.url}/api/shared/x`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
  });
});
