import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestKeys, eventually, metricValue, signTestToken, testRegistryKey, uniquePrefix, type TestKeys } from '@hubspoke/kit/testing';
import { startHubProcess, startJwksServer, type HubProcess } from './support/hub-process.js';
import { startSpoke, stopAll, type Spoke } from './support/spokes.js';

// Issue 17, finding 1: route takeover through the registry. Every spoke here signs with its own key
// (testRegistryKey(service)); the hub holds the master key and binds each prefix in its own database.
const keyPrefix = `${uniquePrefix('owners')}:`;
let keys: TestKeys;
let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let hub: HubProcess;
let user: string;
let admin: string;
const spokes: Spoke[] = [];

beforeAll(async () => {
  keys = await createTestKeys();
  jwks = await startJwksServer(keys);
  hub = await startHubProcess({ keyPrefix, jwksUrl: jwks.url, env: { REGISTRY_RESYNC_MS: '300' } });
  user = await signTestToken(keys, { sub: 'user-1', role: 'user' });
  admin = await signTestToken(keys, { sub: 'admin-1', role: 'admin' });
}, 40_000);

afterAll(async () => {
  await stopAll(spokes);
  hub.process.child.kill('SIGKILL');
  await hub.process.exited;
  await hub.cleanup();
  await jwks.close();
});

async function spoke(service: string, routePrefix: string, env: Record<string, string> = {}): Promise<Spoke> {
  const started = await startSpoke({ keyPrefix, service, routePrefix, env: { HEARTBEAT_MS: '300', TTL_MS: '2000', DRAIN_DELAY_MS: '0', ...env } });
  spokes.push(started);
  return started;
}

async function call(path: string, token = user, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${hub.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() as Record<string, unknown> };
}

/** Which instances answered `count` requests to the prefix. */
async function answeredBy(prefix: string, count = 20): Promise<Set<unknown>> {
  const instances = new Set<unknown>();
  for (let i = 0; i < count; i++) {
    const res = await call(`/api/${prefix}/x`);
    expect(res.status).toBe(200);
    instances.add(res.body.instanceId);
  }
  return instances;
}

const routedTo = (prefix: string, owner: Spoke) => eventually(async () => (await call(`/api/${prefix}/x`)).body.instanceId === owner.instanceId, 10_000);
const refusals = (prefix: string, service: string) => metricValue(hub, `hub_route_claims_refused_total{prefix="${prefix}",service="${service}"}`);

describe('route prefix ownership through the hub', () => {
  test('when a compromised spoke with its own valid key claims another service\'s prefix, then it is refused, counted and traffic stays with the owner', async () => {
    const owner = await spoke('payments', 'payments');
    await routedTo('payments', owner);
    // Alphabetically first: under first-name-wins routing this took the prefix.
    await spoke('a-claim', 'payments');
    await eventually(async () => (await refusals('payments', 'a-claim')) === 1, 10_000);

    expect(await answeredBy('payments')).toEqual(new Set([owner.instanceId]));
    const view = await call('/api/hub/registry/prefixes', admin);
    expect(view).toMatchObject({ status: 200, body: {
      prefixes: expect.arrayContaining([expect.objectContaining({ prefix: 'payments', service: 'payments' })]),
      refusedClaims: expect.arrayContaining([{ prefix: 'payments', service: 'a-claim', owner: 'payments' }]),
    } });
    expect(hub.process.logs).toContainEqual(expect.objectContaining({ msg: 'route prefix claim refused: bound to another service', prefix: 'payments', service: 'a-claim' }));
  });

  test('when a spoke signs a record naming another service with its own key, then the hub ignores the record', async () => {
    const owner = await spoke('ledger', 'ledger');
    await routedTo('ledger', owner);
    const rejectedBefore = await registryRejected();
    await spoke('ledger', 'ledger', { REGISTRY_KEY: testRegistryKey('a-claim') });
    await eventually(async () => (await registryRejected()) > rejectedBefore, 10_000);
    expect(await answeredBy('ledger')).toEqual(new Set([owner.instanceId]));
  });

  test('when the owner restarts, then a claim made while it was away is refused and the owner gets its prefix back', async () => {
    const first = await spoke('billing', 'billing');
    await routedTo('billing', first);
    expect(await first.kill('SIGTERM')).toBe(0);
    await eventually(async () => (await call('/api/billing/x')).status === 503, 10_000);
    await spoke('a-claim-billing', 'billing');
    await eventually(async () => (await refusals('billing', 'a-claim-billing')) === 1, 10_000);
    expect((await call('/api/billing/x')).status).toBe(503);

    const restarted = await spoke('billing', 'billing');
    await routedTo('billing', restarted);
    expect(await answeredBy('billing')).toEqual(new Set([restarted.instanceId]));
  });

  test('when an admin releases a prefix, then the next service claiming it gets it; a user may not, an unbound prefix is 404', async () => {
    const old = await spoke('invoices-v1', 'invoices');
    await routedTo('invoices', old);
    expect((await call('/api/hub/registry/prefixes/invoices', user, 'DELETE')).status).toBe(403);
    await old.kill('SIGTERM');

    const released = await call('/api/hub/registry/prefixes/invoices', admin, 'DELETE');
    expect(released).toMatchObject({ status: 200, body: { released: { prefix: 'invoices', service: 'invoices-v1', claimedAt: expect.any(String) } } });
    expect(hub.process.logs).toContainEqual(expect.objectContaining({ msg: 'route prefix released by an admin', prefix: 'invoices', adminId: 'admin-1' }));
    const successor = await spoke('invoices-v2', 'invoices');
    await routedTo('invoices', successor);
    expect(await answeredBy('invoices')).toEqual(new Set([successor.instanceId]));

    expect(await call('/api/hub/registry/prefixes/never-bound', admin, 'DELETE')).toMatchObject({ status: 404, body: { error: { code: 'REGISTRY.PREFIX_NOT_BOUND' } } });
  });
});

async function registryRejected(): Promise<number> {
  const { body } = await call('/api/hub/registry', admin);
  return (body.registry as { rejected: Record<string, number> }).rejected['bad-signature'] ?? 0;
}
