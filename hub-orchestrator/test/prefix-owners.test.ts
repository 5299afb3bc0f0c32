import { fileURLToPath } from 'node:url';
import { createLogger, createPool, migrate, type InstanceRecord, type Pool, type RegistryListener, type RegistryState } from '@hubspoke/kit';
import { createTestDatabase, eventually, type TestDatabase } from '@hubspoke/kit/testing';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createOwnedRegistry, type OwnedRegistry } from '../src/ownership/owned-registry.js';

// The ownership rules on snapshots a test controls, over the hub's real table; prefix-ownership.test.ts drives
// the same rules through a hub process and spoke processes.
const logger = createLogger({ service: 'hub-test', level: 'silent' });
let database: TestDatabase;
let db: Pool;
const started: OwnedRegistry[] = [];

beforeAll(async () => {
  database = await createTestDatabase('hub_prefix_owners');
  db = createPool({ connectionString: database.url, applicationName: 'hub-test' }, logger);
  await migrate(db, fileURLToPath(new URL('../migrations/', import.meta.url)), logger);
});

afterAll(async () => {
  for (const owned of started) owned.stop();
  await db.end();
  await database.drop();
});

/** What the verified registry reader hands the hub: a snapshot and its change notifications. */
function verifiedSnapshot() {
  let records: InstanceRecord[] = [];
  const listeners = new Set<RegistryListener>();
  return {
    instances: () => records,
    onChange: (listener: RegistryListener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    state: (): RegistryState => ({ connected: true, downSince: null, lastSyncAt: Date.now(), rejected: { unsigned: 0, 'bad-signature': 0, malformed: 0, expired: 0 } }),
    publish(next: InstanceRecord[]) {
      records = next;
      for (const listener of listeners) listener(records);
    },
  };
}

const record = (service: string, routePrefix: string): InstanceRecord => ({
  service, instanceId: `${service}-1`, url: 'http://10.0.0.9:3000', routePrefix, version: '1', publicRoutes: [], routeLimits: [],
  taskTypes: [], tasks: [], status: 'ready', heartbeatAt: Date.now(), ttlMs: 10_000,
});

async function replica(snapshot: ReturnType<typeof verifiedSnapshot>) {
  const metrics = new Registry();
  const owned = await createOwnedRegistry({ registry: snapshot, db, logger, metricsRegistry: metrics, refreshMs: 100 });
  started.push(owned);
  return { owned, metrics };
}

const services = (owned: OwnedRegistry) => owned.instances().map((r) => r.service).sort();

describe('route prefix owners', () => {
  test('when two new services claim one free prefix in the same snapshot, then neither gets it until one of them leaves', async () => {
    const snapshot = verifiedSnapshot();
    const { owned, metrics } = await replica(snapshot);
    snapshot.publish([record('orders-a', 'orders'), record('orders-b', 'orders')]);
    await eventually(() => owned.refused().length === 2, 2_000);
    expect(owned.instances()).toEqual([]);
    expect(owned.refused()).toEqual(expect.arrayContaining([{ prefix: 'orders', service: 'orders-a', owner: undefined }, { prefix: 'orders', service: 'orders-b', owner: undefined }]));
    expect(await metrics.metrics()).toMatch(/hub_route_claims_refused_total\{prefix="orders",service="orders-a"\} 1/);

    snapshot.publish([record('orders-b', 'orders')]);
    await eventually(() => services(owned).join() === 'orders-b', 2_000);
    expect(owned.bindings()).toEqual(expect.arrayContaining([expect.objectContaining({ prefix: 'orders', service: 'orders-b' })]));
  });

  test('when two hub replicas see claims in a different order, then they agree on the first owner, and a release on one reaches the other', async () => {
    const [first, second] = [verifiedSnapshot(), verifiedSnapshot()];
    const a = await replica(first);
    const b = await replica(second);
    first.publish([record('stock', 'stock')]);
    await eventually(() => services(a.owned).join() === 'stock', 2_000);
    second.publish([record('a-stock', 'stock'), record('stock', 'stock')]);
    await eventually(() => services(b.owned).join() === 'stock', 2_000);
    expect(b.owned.refused()).toEqual([{ prefix: 'stock', service: 'a-stock', owner: 'stock' }]);

    // The owner is gone everywhere; an admin releases the prefix on one replica, the other rereads within its refresh.
    first.publish([record('a-stock', 'stock')]);
    second.publish([record('a-stock', 'stock')]);
    expect(await b.owned.release('stock')).toMatchObject({ prefix: 'stock', service: 'stock' });
    await eventually(() => services(b.owned).join() === 'a-stock', 2_000);
    await eventually(() => services(a.owned).join() === 'a-stock', 2_000);
    expect(await b.owned.release('never-bound')).toBeNull();
  });

  test('when a record claims the hub\'s own prefix, then it is never bound', async () => {
    const snapshot = verifiedSnapshot();
    const { owned } = await replica(snapshot);
    snapshot.publish([record('sneaky', 'hub')]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(owned.instances()).toEqual([]);
    expect(owned.bindings().map((b) => b.prefix)).not.toContain('hub');
  });
});
