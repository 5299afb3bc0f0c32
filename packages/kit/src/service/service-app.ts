import express, { type Express, type Router } from 'express';
import type { Logger } from 'pino';
import type { Queryable } from '../db/pool.js';
import { errorHandler, notFoundHandler } from '../http/errors.js';
import type { Api } from '../api/api-routes.js';
import { healthRoutes, OPENAPI_PATH, type DependencyCheck } from '../http/health.js';
import { jsonBody, type JsonBodyOptions } from '../http/json-body.js';
import type { Metrics } from '../http/metrics.js';
import { requestContext } from '../http/request-context.js';
import { requestLog } from '../http/request-log.js';
import { securityHeaders } from '../http/security-headers.js';
import type { Lifecycle } from '../lifecycle.js';
import type { Bus } from '../messaging/bus.js';
import { dependencyChecks } from './readiness.js';

export interface ServiceAppContext {
  logger: Logger;
  metrics: Metrics;
  lifecycle: Pick<Lifecycle, 'isDraining'>;
  db?: Queryable;
  bus?: Pick<Bus, 'health'>;
}

export interface ServiceAppOptions {
  /** The service's routes with their contracts (`apiRoutes`): mounted after `routes`, its document served at OPENAPI_PATH. */
  api?: Api;
  /** Mounts routes that are not the service's API (the hub's proxy), after health and metrics and before the 404 and error handlers. */
  routes?: (app: Express) => void;
  /** The service's own endpoints outside `/api/` (the hub's Prometheus targets), entered only by requests outside `/api/` as health and metrics are. */
  internal?: Router[];
  /** JSON bodies parsed with a size and depth cap; `false` where bodies stream through unparsed (the hub). */
  body?: JsonBodyOptions | false;
  /** Proxies in front that append to X-Forwarded-For, so `req.ip` is the client's. */
  trustProxyHops?: number;
  /** Readiness checks besides the ones derived from the context (its Postgres, its RabbitMQ). */
  checks?: Record<string, DependencyCheck>;
}

/**
 * The Express app every service builds around its routes: security headers for a JSON API, request ids and logging context, metrics, a
 * log line per request, a capped JSON body parser, `/health`, `/ready` (from what the service holds), `/internal/metrics`, the API's
 * document, then the routes, then a 404 and the one error handler, all in the shape clients and the hub expect.
 */
export function createServiceApp(context: ServiceAppContext, { api, routes, internal = [], body = {}, trustProxyHops, checks = {} }: ServiceAppOptions): Express {
  const { logger, metrics, lifecycle } = context;
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (trustProxyHops !== undefined) app.set('trust proxy', trustProxyHops);
  app.use(securityHeaders(), requestContext({ isDraining: lifecycle.isDraining }), metrics.httpMiddleware, requestLog(logger));
  if (body !== false) app.use(jsonBody(body));
  const outsideApi = express.Router();
  outsideApi.use(healthRoutes({ isDraining: lifecycle.isDraining, checks: { ...dependencyChecks(context), ...checks } }), metrics.route, ...internal);
  if (api) {
    const document = JSON.stringify(api.document);
    outsideApi.get(OPENAPI_PATH, (_req, res) => {
      res.type('application/json').send(document);
    });
  }
  // None of these is under /api/ (what the hub proxies): its requests skip them without entering their routers.
  app.use((req, res, next) => (req.url.startsWith('/api/') ? next() : outsideApi(req, res, next)));
  routes?.(app);
  if (api) app.use(api.router);
  app.use(notFoundHandler(), errorHandler(logger));
  return app;
}
