import express, { type Express } from 'express';
import type { Logger } from 'pino';
import { serviceUnavailable } from '../errors.js';
import { errorHandler } from '../http/errors.js';
import type { Metrics } from '../http/metrics.js';
import { requestContext } from '../http/request-context.js';
import { securityHeaders } from '../http/security-headers.js';

export interface StartingAppOptions {
  logger: Logger;
  metrics: Metrics;
  isDraining: () => boolean;
  /** Critical dependencies the start still waits for (`['postgres']`); empty once they answer and the rest starts. */
  missing: () => string[];
}

/**
 * What a service answers from the moment it listens until it has started: `/health` live, `/ready` 503 naming
 * what it waits for, `/internal/metrics`, and 503 `SERVICE.STARTING` with Retry-After for anything else. An orchestrator
 * sees a live process that is not ready (no restart loop), and the hub does not know the instance yet.
 */
export function startingApp({ logger, metrics, isDraining, missing }: StartingAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders(), requestContext({ isDraining }), metrics.httpMiddleware);
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.status(503).json({ status: isDraining() ? 'draining' : 'starting', missing: isDraining() ? [] : missing(), degraded: [] });
  });
  app.use(metrics.route);
  app.use((_req, _res, next) => {
    next(serviceUnavailable('SERVICE.STARTING', 'The service is starting; try again shortly'));
  });
  app.use(errorHandler(logger));
  return app;
}
