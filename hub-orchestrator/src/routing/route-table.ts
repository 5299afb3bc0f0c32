import type { InstanceRecord, Logger, PublicRoute, RouteLimit } from '@hubspoke/kit';
import { createUpstream, retire, upstreamKey, type BreakerListener, type Upstream, type UpstreamOptions } from './upstream.js';

/** The hub's own API lives under /api/hub; no spoke may claim it. */
export const HUB_PREFIX = 'hub';
const PREFIX_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface RouteEntry {
  service: string;
  prefix: string;
  /** Ready instances only: draining ones get no new requests. */
  ready: Upstream[];
  /** Every instance in the registry, draining too (admin view). */
  all: Upstream[];
  publicRoutes: PublicRoute[];
  routeLimits: RouteLimit[];
}

export interface RouteTable {
  /** undefined: nothing ever registered this prefix. An entry with no ready instance: a known spoke that is down. */
  lookup: (prefix: string) => RouteEntry | undefined;
  entries: () => RouteEntry[];
  /** Rebuilds from a registry snapshot; upstreams (pools, breakers, load) survive across rebuilds. */
  update: (records: readonly InstanceRecord[]) => void;
}

export interface RouteTableOptions {
  upstream: UpstreamOptions;
  logger: Logger;
  onBreaker?: BreakerListener;
}

export function createRouteTable({ upstream: upstreamOptions, logger, onBreaker }: RouteTableOptions): RouteTable {
  const upstreams = new Map<string, Upstream>();
  let routes = new Map<string, RouteEntry>();

  const breakerChanged: BreakerListener = (upstream, from, to) => {
    const { service, instanceId } = upstream.record;
    logger.warn({ service, instanceId, from, to }, 'breaker state changed');
    onBreaker?.(upstream, from, to);
  };

  function update(records: readonly InstanceRecord[]) {
    const next = new Map<string, RouteEntry>();
    const seen = new Set<string>();
    // Sorted so every hub replica settles a contested prefix the same way.
    for (const record of [...records].sort((a, b) => a.service.localeCompare(b.service))) {
      if (!PREFIX_PATTERN.test(record.routePrefix) || record.routePrefix === HUB_PREFIX) continue;
      const claimed = next.get(record.routePrefix);
      if (claimed && claimed.service !== record.service) {
        logger.warn({ prefix: record.routePrefix, service: record.service, owner: claimed.service }, 'route prefix claimed by another service: ignored');
        continue;
      }
      const key = upstreamKey(record);
      seen.add(key);
      let upstream = upstreams.get(key);
      if (upstream) upstream.record = record;
      else upstreams.set(key, (upstream = createUpstream(record, upstreamOptions, breakerChanged)));
      const entry = claimed ?? emptyEntry(record.service, record.routePrefix);
      entry.all.push(upstream);
      if (record.status === 'ready') entry.ready.push(upstream);
      next.set(record.routePrefix, entry);
    }
    for (const [key, upstream] of upstreams) {
      if (seen.has(key)) continue;
      retire(upstream);
      upstreams.delete(key);
    }
    // A spoke whose instances are all gone stays known, so its clients get 503 (try again), not 404.
    for (const [prefix, old] of routes) if (!next.has(prefix)) next.set(prefix, emptyEntry(old.service, prefix));
    for (const entry of next.values()) {
      const records = entry.ready.map((u) => u.record);
      entry.publicRoutes = publicRoutesOf(records);
      entry.routeLimits = routeLimitsOf(records);
    }
    routes = next;
  }

  return { lookup: (prefix) => routes.get(prefix), entries: () => [...routes.values()], update };
}

function emptyEntry(service: string, prefix: string): RouteEntry {
  return { service, prefix, ready: [], all: [], publicRoutes: [], routeLimits: [] };
}

const ruleKey = (rule: PublicRoute) => `${rule.method} ${rule.path}`;

/**
 * Public only where every ready instance says so: during a rolling deploy a route turns public when the
 * last old instance leaves, and stops being public as soon as one instance no longer declares it.
 */
function publicRoutesOf(records: InstanceRecord[]): PublicRoute[] {
  const [first, ...rest] = records;
  if (!first) return [];
  const shared = rest.map((r) => new Set(r.publicRoutes.map(ruleKey)));
  return first.publicRoutes.filter((rule) => shared.every((keys) => keys.has(ruleKey(rule))));
}

/** Every declared limit applies; where two instances declare the same route, the stricter one wins. */
function routeLimitsOf(records: InstanceRecord[]): RouteLimit[] {
  const limits = new Map<string, RouteLimit>();
  for (const limit of records.flatMap((r) => r.routeLimits)) {
    const known = limits.get(ruleKey(limit));
    if (!known || limit.limit / limit.windowMs < known.limit / known.windowMs) limits.set(ruleKey(limit), limit);
  }
  return [...limits.values()];
}
