import type { Express } from 'express';
import { isInternalEndpoint } from '../http/health.js';

/** A route as Express mounted it: `GET /:id`. */
export interface MountedRoute {
  method: string;
  path: string;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
  slash?: boolean;
}

/**
 * Every route an app answers, read from its router stack (nested routers included), without the
 * kit's internal endpoints: what a test compares with the service's OpenAPI document, so a route
 * mounted without a contract fails it.
 */
export function mountedRoutes(app: Express): MountedRoute[] {
  const stack = (app as unknown as { router: { stack: Layer[] } }).router.stack;
  return walk(stack, '').filter((route) => !isInternalEndpoint(route.path));
}

function walk(stack: Layer[], prefix: string): MountedRoute[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      return Object.keys(layer.route.methods).filter((m) => m !== '_all').map((method) => ({ method: method.toUpperCase(), path: `${prefix}${layer.route!.path}` }));
    }
    if (layer.handle?.stack) return walk(layer.handle.stack, layer.slash || typeof layer.rawPath !== 'string' ? prefix : `${prefix}${layer.rawPath}`);
    return [];
  });
}
