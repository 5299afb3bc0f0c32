import type { Request, RequestHandler, Response } from 'express';
import { badRequest, notFound } from '@hubspoke/kit';
import './hub-route.js';
import { noInstance } from './hub-errors.js';
import { hasDotSegment, isInternalPath, routeMatches, splitApiPath } from './route-match.js';
import { HUB_PREFIX, type RouteTable } from './route-table.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Why `/api/*` resolved to nothing (404, 400, 503): answered by `answerUnresolved`, after the rate limit counted it. */
    hubRouteError?: unknown;
  }
}

/**
 * Maps `/api/<prefix>/*` to a spoke from the in-memory table (no Redis call) and sets `req.hubRoute`
 * for the edge middlewares and the proxy. An unknown prefix, a bad path or a spoke with no ready instance
 * is kept in `req.hubRouteError` and answered by `answerUnresolved` once the per-address limit has counted
 * it, so probing for prefixes is rate limited like anything else; no token is verified for it.
 */
export function resolveRoute(table: RouteTable): RequestHandler {
  const resolve = resolver(table);
  return (req, res, next) => {
    try {
      resolve(req, res);
    } catch (error) {
      req.hubRouteError = error;
    }
    next();
  };
}

/** Answers what `resolveRoute` could not resolve. */
export function answerUnresolved(): RequestHandler {
  return (req, _res, next) => next(req.hubRouteError);
}

function resolver(table: RouteTable): (req: Request, res: Response) => void {
  return (req, res) => {
    const split = splitApiPath(req.path);
    if (!split) throw notFound('ROUTE.NOT_FOUND', 'No such route');
    const { prefix, upstreamPath } = split;
    if (hasDotSegment(upstreamPath)) throw badRequest('REQUEST.INVALID_PATH', 'The path contains dot segments');
    if (isInternalPath(upstreamPath)) throw notFound('ROUTE.NOT_FOUND', 'No such route');
    if (prefix === HUB_PREFIX) {
      req.hubRoute = { service: HUB_PREFIX, prefix, upstreamPath, isPublic: false };
      return;
    }
    const entry = table.lookup(prefix);
    if (!entry) throw notFound('ROUTE.NOT_FOUND', 'No such route');
    if (entry.ready.length === 0) throw noInstance(entry.service);
    // HEAD is GET without a body: a public GET route is public for HEAD too.
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const routeLimit = entry.routeLimits.find((rule) => routeMatches(rule, method, upstreamPath));
    // Bounded by the registered prefixes (unknown ones were answered above), so safe as a metrics label.
    res.locals.metricsRoute = `/api/${prefix}/*`;
    req.hubRoute = {
      service: entry.service,
      prefix,
      upstreamPath,
      isPublic: entry.publicRoutes.some((rule) => routeMatches(rule, method, upstreamPath)),
      ...(routeLimit ? { routeLimit } : {}),
    };
  };
}
