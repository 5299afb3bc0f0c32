import { defineRoute, TASK_SUBMITTERS, type ApiRoute, type RegistryReader } from '@hubspoke/kit';
import { z } from 'zod';
import type { RouteTable } from '../routing/route-table.js';

const RouteRule = z.object({ method: z.string(), path: z.string() });
const RegistryView = z.object({
  registry: z.object({
    connected: z.boolean(),
    downSince: z.iso.datetime().nullable(),
    lastSyncAt: z.iso.datetime().nullable(),
    rejected: z.record(z.string(), z.int()).meta({ description: 'Records ignored since start, by reason' }),
  }),
  spokes: z.array(z.object({
    service: z.string(),
    prefix: z.string(),
    readyInstances: z.int(),
    publicRoutes: z.array(RouteRule),
    routeLimits: z.array(RouteRule.extend({ limit: z.int(), windowMs: z.int(), onStoreDown: z.enum(['open', 'closed']).optional() })),
    instances: z.array(z.object({
      instanceId: z.string(),
      url: z.string(),
      version: z.string(),
      status: z.enum(['ready', 'draining']),
      breaker: z.enum(['closed', 'half-open', 'open']),
      inFlight: z.int(),
      tasks: z.array(z.object({ type: z.string(), allowed: z.enum(TASK_SUBMITTERS) }))
        .meta({ description: 'The task types this instance serves (jobs of these types reach it) and who may submit each' }),
    })),
  })),
}).meta({ id: 'RegistryView' });

/**
 * `GET /api/hub/registry` (admins): what this hub replica routes to right now. `req.auth` comes from
 * edge auth, which runs before the hub's own API just as it does before the proxy.
 */
export function registryRoutes({ routes, registry }: { routes: RouteTable; registry: Pick<RegistryReader, 'state'> }): ApiRoute[] {
  return [defineRoute({
    method: 'get', path: '/registry', role: 'admin', tags: ['hub'], summary: 'What this hub replica routes to right now (admins)',
    response: { description: 'The registry connection and every spoke instance', body: RegistryView, headers: { 'Cache-Control': 'no-store' } },
    handler: () => {
      const { connected, downSince, lastSyncAt, rejected } = registry.state();
      return {
        registry: { connected, downSince: isoOrNull(downSince), lastSyncAt: isoOrNull(lastSyncAt), rejected },
        spokes: routes.entries().map((entry) => ({
          service: entry.service,
          prefix: entry.prefix,
          readyInstances: entry.ready.length,
          publicRoutes: entry.publicRoutes,
          routeLimits: entry.routeLimits,
          instances: entry.all.map(({ record, breaker, inFlight }) => ({
            instanceId: record.instanceId,
            url: record.url,
            version: record.version,
            status: record.status,
            breaker: breaker.state(),
            inFlight,
            tasks: record.tasks.map(({ type, allowed }) => ({ type, allowed })),
          })),
        })),
      };
    },
  })];
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
