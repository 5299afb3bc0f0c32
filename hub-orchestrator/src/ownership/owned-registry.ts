import type { InstanceRecord, Logger, Queryable, RegistryListener, RegistryReader } from '@hubspoke/kit';
import { Counter, type Registry } from 'prom-client';
import { HUB_PREFIX } from '../routing/route-table.js';
import { createPrefixOwnerRepository, type PrefixBinding } from './prefix-owner-repository.js';

export interface RefusedClaim {
  prefix: string;
  service: string;
  /** The service the prefix is bound to; undefined while several new services contest an unbound prefix. */
  owner: string | undefined;
}

export interface OwnedRegistry extends Pick<RegistryReader, 'instances' | 'onChange' | 'state'> {
  bindings: () => PrefixBinding[];
  /** Claims refused right now, one per (prefix, service). */
  refused: () => RefusedClaim[];
  /** Removes the binding (admin action) and rebinds at once if a single live service claims the prefix. */
  release: (prefix: string) => Promise<PrefixBinding | null>;
  stop: () => void;
}

export interface OwnedRegistryOptions {
  registry: Pick<RegistryReader, 'instances' | 'onChange' | 'state'>;
  db: Queryable;
  logger: Logger;
  metricsRegistry: Registry;
  /** How often bindings are reread, so a release on another hub replica reaches this one. */
  refreshMs?: number;
}

/**
 * The registry as the hub routes it: verified records (the reader) whose service owns the prefix it
 * claims. An unbound prefix is bound to the service claiming it, in the hub's database, before it is
 * routed; a claim on a prefix bound to another service is refused (never routed), logged and counted
 * in `hub_route_claims_refused_total{prefix,service}`. Several services newly claiming one unbound prefix
 * at once bind none of them: a race must never decide who receives a prefix's traffic. With the database
 * down, the last bindings read stay in force and new prefixes wait.
 */
export async function createOwnedRegistry({ registry, db, logger, metricsRegistry, refreshMs = 5_000 }: OwnedRegistryOptions): Promise<OwnedRegistry> {
  const owners = createPrefixOwnerRepository(db);
  const refusedTotal = new Counter({
    name: 'hub_route_claims_refused_total', help: 'Spoke instances whose route prefix claim was refused (bound to another service, or contested), by prefix and service',
    labelNames: ['prefix', 'service'] as const, registers: [metricsRegistry],
  });
  const listeners = new Set<RegistryListener>();
  let bindings = new Map<string, PrefixBinding>();
  let refused = new Map<string, RefusedClaim>();
  let counted = new Set<string>();
  let running: Promise<void> | undefined;
  let again = false;

  const ownedBy = (record: InstanceRecord) => bindings.get(record.routePrefix)?.service === record.service;
  const routable = () => registry.instances().filter(ownedBy);

  async function bindUnclaimed(records: readonly InstanceRecord[]): Promise<void> {
    const claimants = new Map<string, Set<string>>();
    for (const { routePrefix, service } of records) {
      if (routePrefix === HUB_PREFIX || bindings.has(routePrefix)) continue;
      claimants.set(routePrefix, (claimants.get(routePrefix) ?? new Set()).add(service));
    }
    for (const [prefix, services] of claimants) {
      if (services.size === 1) await owners.claim(prefix, [...services][0]!);
    }
    bindings = new Map((await owners.list()).map((binding) => [binding.prefix, binding]));
  }

  /** Records refusals: a warning and a count once per instance, for as long as its claim stands. */
  function noteRefusals(records: readonly InstanceRecord[]): void {
    const next = new Map<string, RefusedClaim>();
    const seen = new Set<string>();
    for (const record of records) {
      const { routePrefix: prefix, service, instanceId } = record;
      if (prefix === HUB_PREFIX || ownedBy(record)) continue;
      const owner = bindings.get(prefix)?.service;
      const contested = owner === undefined && records.some((r) => r.routePrefix === prefix && r.service !== service);
      if (owner === undefined && !contested) continue;
      next.set(`${prefix}/${service}`, { prefix, service, owner });
      const key = `${service}/${instanceId}`;
      seen.add(key);
      if (counted.has(key)) continue;
      refusedTotal.inc({ prefix, service });
      logger.warn({ prefix, service, instanceId, owner: owner ?? null }, owner ? 'route prefix claim refused: bound to another service' : 'route prefix claim refused: contested by several new services');
    }
    refused = next;
    counted = seen;
  }

  async function reconcileOnce(notify: boolean): Promise<void> {
    const records = registry.instances();
    const before = fingerprint(bindings);
    try {
      await bindUnclaimed(records);
    } catch (error) {
      logger.warn({ err: error }, 'route prefix owners unavailable; keeping the last bindings');
    }
    noteRefusals(records);
    if (!notify && fingerprint(bindings) === before) return;
    const view = routable();
    for (const listener of listeners) {
      try {
        listener(view);
      } catch (error) {
        logger.error({ err: error }, 'owned registry: change listener failed');
      }
    }
  }

  // One pass at a time; a change during a pass runs one more, which notifies.
  function reconcile(notify: boolean): Promise<void> {
    if (running) {
      again ||= notify;
      return running;
    }
    running = (async () => {
      let pending = notify;
      do {
        again = false;
        await reconcileOnce(pending);
        pending = again;
      } while (pending);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  registry.onChange(() => void reconcile(true));
  const timer = setInterval(() => void reconcile(false), refreshMs);
  timer.unref();
  await reconcile(true);

  return {
    instances: routable,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    state: () => registry.state(),
    bindings: () => [...bindings.values()],
    refused: () => [...refused.values()],
    async release(prefix) {
      const released = await owners.release(prefix);
      if (released) {
        bindings.delete(prefix);
        await reconcile(true);
      }
      return released;
    },
    stop: () => clearInterval(timer),
  };
}

const fingerprint = (bindings: Map<string, PrefixBinding>) => [...bindings.values()].map((b) => `${b.prefix}=${b.service}`).join(',');
