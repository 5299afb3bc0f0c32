import express, { type Router } from 'express';
import { requireRole, type RegistryReader } from '@hubspoke/kit';
import type { RouteTable } from '../routing/route-table.js';

/**
 * `GET /api/hub/registry` (admins): what this hub replica routes to right now. `req.auth` comes from
 * edge auth, which runs before the hub's own API just as it does before the proxy.
 */
export function registryRoutes({ routes, registry }: { routes: RouteTable; registry: Pick<RegistryReader, 'state'> }): Router {
  const router = express.Router();
  router.get('/registry', requireRole('admin'), (_req, res) => {
    const { connected, downSince, lastSyncAt, rejected } = registry.state();
    res.setHeader('Cache-Control', 'no-store');
    res.json({
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
        })),
      })),
    });
  });
  return router;
}

const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
