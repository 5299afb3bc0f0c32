import type { InstanceRecord, RegistryReader } from '@hubspoke/kit';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BREAKER_STATES, type BreakerState } from './routing/breaker.js';
import type { RouteTable } from './routing/route-table.js';

export type UpstreamErrorKind = 'refused' | 'reset' | 'timeout' | '5xx';

export interface HubMetrics {
  proxied: (service: string, statusCode: number, seconds: number) => void;
  upstreamError: (service: string, kind: UpstreamErrorKind) => void;
  retried: (service: string) => void;
  shed: (service: string) => void;
  breakerChanged: (service: string, from: BreakerState, to: BreakerState) => void;
}

export interface HubMetricsOptions {
  registry: Registry;
  routes: RouteTable;
  /** When the registry (Redis) became unreachable, ms since epoch; undefined while it is up. */
  registryDownSince: () => number | undefined;
  /** The registry snapshot and its changes: instances that joined or left are counted per spoke. */
  instances: Pick<RegistryReader, 'instances' | 'onChange'>;
}

/**
 * The hub's own series, per spoke (`service` is the spoke; it overrides the process's default label; a spoke
 * instance is `spoke_instance`, as Prometheus's own `instance` names the hub replica scraped).
 * Gauges are computed at scrape time from the route table, so they can never drift from it.
 */
export function createHubMetrics({ registry, routes, registryDownSince, instances }: HubMetricsOptions): HubMetrics {
  const registers = [registry];
  const requests = new Counter({
    name: 'hub_proxy_requests_total', help: 'Requests proxied to spokes, by spoke and status code returned to the client',
    labelNames: ['service', 'status_code'] as const, registers,
  });
  const duration = new Histogram({
    name: 'hub_proxy_duration_seconds', help: 'Time from route resolution to the end of the response, by spoke',
    labelNames: ['service'] as const, buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
  });
  const errors = new Counter({
    name: 'hub_upstream_errors_total', help: 'Failed upstream attempts, by spoke and kind (refused, reset, timeout, 5xx)',
    labelNames: ['service', 'kind'] as const, registers,
  });
  const retries = new Counter({
    name: 'hub_proxy_retries_total', help: 'Idempotent requests retried on another instance after a connection failure',
    labelNames: ['service'] as const, registers,
  });
  const shed = new Counter({
    name: 'hub_shed_requests_total', help: 'Requests answered 503 at once because every instance had its maximum of outstanding requests',
    labelNames: ['service'] as const, registers,
  });
  const transitions = new Counter({
    name: 'hub_breaker_transitions_total', help: 'Circuit breaker state changes, by spoke and from/to state',
    labelNames: ['service', 'from', 'to'] as const, registers,
  });
  new Gauge({
    name: 'hub_upstream_outstanding', help: 'Requests the hub has outstanding per instance',
    labelNames: ['service', 'spoke_instance'] as const, registers,
    collect() {
      this.reset();
      for (const entry of routes.entries()) for (const u of entry.all) this.set({ service: entry.service, spoke_instance: u.record.instanceId }, u.inFlight);
    },
  });
  new Gauge({
    name: 'hub_live_instances', help: 'Ready instances in the route table, by spoke', labelNames: ['service'] as const, registers,
    collect() {
      this.reset();
      for (const entry of routes.entries()) this.set({ service: entry.service }, entry.ready.length);
    },
  });
  new Gauge({
    name: 'hub_breaker_state', help: 'Circuit breaker per instance: 0 closed, 1 half-open, 2 open',
    labelNames: ['service', 'spoke_instance'] as const, registers,
    collect() {
      this.reset();
      for (const entry of routes.entries()) {
        for (const u of entry.all) this.set({ service: entry.service, spoke_instance: u.record.instanceId }, BREAKER_STATES[u.breaker.state()]);
      }
    },
  });
  new Gauge({
    name: 'hub_registry_instances', help: 'Instances in the registry by spoke and status (ready, draining)',
    labelNames: ['service', 'status'] as const, registers,
    collect() {
      this.reset();
      for (const entry of routes.entries()) {
        this.set({ service: entry.service, status: 'ready' }, entry.ready.length);
        this.set({ service: entry.service, status: 'draining' }, entry.all.length - entry.ready.length);
      }
    },
  });
  const changes = new Counter({
    name: 'hub_registry_changes_total', help: 'Spoke instances that joined or left the registry (deregistered or expired), by spoke',
    labelNames: ['service', 'change'] as const, registers,
  });
  // Instance ids are new at every start, so a restarting instance shows as one leaving and another joining.
  const byKey = (records: readonly InstanceRecord[]) => new Map(records.map((r) => [`${r.service}/${r.instanceId}`, r.service]));
  let known = byKey(instances.instances());
  instances.onChange((records) => {
    const next = byKey(records);
    for (const [key, service] of next) if (!known.has(key)) changes.inc({ service, change: 'joined' });
    for (const [key, service] of known) if (!next.has(key)) changes.inc({ service, change: 'left' });
    known = next;
  });
  new Gauge({
    name: 'hub_registry_down_since_seconds', help: 'Unix time the registry (Redis) became unreachable; 0 while it is up', registers,
    collect() {
      const since = registryDownSince();
      this.set(since === undefined ? 0 : Math.floor(since / 1000));
    },
  });

  return {
    proxied(service, statusCode, seconds) {
      requests.inc({ service, status_code: String(statusCode) });
      duration.observe({ service }, seconds);
    },
    upstreamError: (service, kind) => errors.inc({ service, kind }),
    retried: (service) => retries.inc({ service }),
    shed: (service) => shed.inc({ service }),
    breakerChanged: (service, from, to) => transitions.inc({ service, from, to }),
  };
}
