import express, { type Router } from 'express';
import { METRICS_PATH } from '@hubspoke/kit';
import type { RouteTable } from '../routing/route-table.js';

/**
 * Where Prometheus reads the spokes to scrape (`http_sd_configs`). Outside `/api/`, so neither the gateway
 * (it forwards `/api/` only) nor the hub's routing (it proxies `/api/<prefix>/*` only) lets a client reach it.
 */
export const PROMETHEUS_TARGETS_PATH = '/internal/prometheus/targets';

interface TargetGroup {
  targets: string[];
  labels: { service: string; role: 'spoke'; instance: string; __metrics_path__: string };
}

/**
 * Prometheus HTTP service discovery from the live registry: one group per spoke instance, draining ones too
 * (they still serve), labelled with the spoke and its instance id (the id its log lines carry), so a
 * generated spoke or `--scale spoke-user=4` is scraped within one refresh with no file edit. `__metrics_path__`
 * tells Prometheus where the kit serves the exposition, so the scrape config need not repeat it.
 */
export function prometheusTargets(routes: Pick<RouteTable, 'entries'>): Router {
  const router = express.Router();
  router.get(PROMETHEUS_TARGETS_PATH, (_req, res) => {
    const groups: TargetGroup[] = routes.entries().flatMap((entry) => entry.all.map(({ record }) => ({
      targets: [new URL(record.url).host],
      labels: { service: record.service, role: 'spoke' as const, instance: record.instanceId, __metrics_path__: METRICS_PATH },
    })));
    res.setHeader('Cache-Control', 'no-store');
    res.json(groups);
  });
  return router;
}
