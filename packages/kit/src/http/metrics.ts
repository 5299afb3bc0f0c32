import type { RequestHandler, Router } from 'express';
import express from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { METRICS_PATH } from './health.js';
import { routeTemplate } from './route-template.js';

export interface Metrics {
  registry: Registry;
  /** Counts and times every request by method, route template and status code. */
  httpMiddleware: RequestHandler;
  /** `GET /internal/metrics` (METRICS_PATH) in the Prometheus text format. */
  route: Router;
}

/** One registry per process, with default process metrics and `service` on every series. */
export function createMetrics({ service }: { service: string }): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });

  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests handled, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const httpMiddleware: RequestHandler = (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('finish', () => {
      const labels = { method: req.method, route: routeTemplate(req, res), status_code: String(res.statusCode) };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };

  const route = express.Router();
  route.get(METRICS_PATH, async (req, res, next) => {
    // Prometheus scrapes the instance itself; every hub sets X-Forwarded-For on what it relays. So a hub that does
    // not refuse /internal/ (an older one during a rollout) or a flaw in its path matching still shows clients nothing.
    if (req.headers['x-forwarded-for'] !== undefined) return next();
    res.setHeader('Content-Type', registry.contentType);
    res.end(await registry.metrics());
  });

  return { registry, httpMiddleware, route };
}
