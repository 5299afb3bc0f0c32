import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { isInternalEndpoint } from './health.js';
import { routeTemplate } from './route-template.js';

/**
 * One `request` line per finished request: method, route template, status, duration and request id (the
 * service's logger already carries `service` and `instanceId`), so a line tells which instance served
 * what. Probes and `/internal/*` (metrics included) are not logged: orchestrators, Prometheus and the hub poll them
 * on a timer, and a line each would drown the requests people make. At `info`: LOG_LEVEL=warn turns it off.
 */
export function requestLog(logger: Logger): RequestHandler {
  // Its fields are the method, a route template, a status, a duration and the request id: nothing to redact, so the
  // line skips the redaction pass every other line gets (≈ 2 % of a busy hub's CPU, bench/README.md).
  const lines = logger.child({}, { redact: [] });
  return (req, res, next) => {
    if (isInternalEndpoint(req.path) || !lines.isLevelEnabled('info')) return next();
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const durationMs = Math.round(Number(process.hrtime.bigint() - start) / 10_000) / 100;
      lines.info({ method: req.method, route: routeTemplate(req, res), statusCode: res.statusCode, durationMs, requestId: req.requestId }, 'request');
    });
    next();
  };
}
