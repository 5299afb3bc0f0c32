import type { ApiRoute } from '@hubspoke/kit';
import type { RequestHandler } from 'express';
import '../routing/hub-route.js';
import { HUB_PREFIX } from '../routing/route-table.js';

/**
 * Marks the hub's own public routes (and the reference page's assets) public for edge auth, as a
 * spoke's registered public routes are: after route resolution, before edge auth.
 */
export function publicHubRoutes(routes: readonly ApiRoute[], publicPrefixes: readonly string[]): RequestHandler {
  const exact = new Set(routes.filter((route) => route.public && !route.role).map((route) => `${route.method.toUpperCase()} ${route.path}`));
  return (req, _res, next) => {
    const route = req.hubRoute;
    if (route?.service === HUB_PREFIX) {
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      route.isPublic = exact.has(`${method} ${route.upstreamPath}`) || (method === 'GET' && publicPrefixes.some((prefix) => route.upstreamPath.startsWith(prefix)));
    }
    next();
  };
}
