import express, { type Router } from 'express';

/** Endpoints for the hub, Prometheus and tooling only: the hub never proxies anything under it. */
const INTERNAL_PREFIX = '/internal/';
/** Where a spoke serves its OpenAPI document, for the hub to merge into the one clients read. */
export const OPENAPI_PATH = `${INTERNAL_PREFIX}openapi.json`;
/**
 * Where every service serves its Prometheus exposition. Under `/internal/`, not at `/metrics`, so the hub's
 * refusal of the whole prefix keeps it from clients and `/api/<prefix>/metrics` is free for a spoke's own API
 * (the analytics spoke's series, issue 16).
 */
export const METRICS_PATH = `${INTERNAL_PREFIX}metrics`;
/** Probes orchestrators expect at the root: answered to them, never to a client through the hub. */
const PROBE_PATHS: readonly string[] = ['/health', '/ready'];

/**
 * A service's own endpoint: a probe, `/internal` or anything under it. The path as Express would match it
 * (lower-case, no trailing slash, decoded): callers normalise a client's spelling first.
 */
export function isInternalEndpoint(path: string): boolean {
  return PROBE_PATHS.includes(path) || path === INTERNAL_PREFIX.slice(0, -1) || path.startsWith(INTERNAL_PREFIX);
}

export interface DependencyCheck {
  /** Resolves when the dependency answers; rejects (or times out) when it does not. */
  check: () => Promise<unknown> | unknown;
  /** Without a critical dependency the service cannot do its job (503); others only degrade it (200 + degraded). */
  critical: boolean;
}

export interface HealthOptions {
  checks: Record<string, DependencyCheck>;
  isDraining: () => boolean;
  /** Longest a single check may take before it counts as failed. */
  checkTimeoutMs?: number;
}

/**
 * `/health`: liveness, checks nothing external. `/ready`: readiness, 503 naming what is missing (or
 * that the instance is draining), 200 with `degraded` naming non-critical dependencies that are down.
 */
export function healthRoutes({ checks, isDraining, checkTimeoutMs = 1000 }: HealthOptions): Router {
  const router = express.Router();
  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/ready', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (isDraining()) {
      res.status(503).json({ status: 'draining', missing: [], degraded: [] });
      return;
    }
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, dependency]) => ({ name, dependency, ok: await passes(dependency, checkTimeoutMs) })),
    );
    const missing = results.filter((r) => !r.ok && r.dependency.critical).map((r) => r.name);
    const degraded = results.filter((r) => !r.ok && !r.dependency.critical).map((r) => r.name);
    if (missing.length > 0) {
      res.status(503).json({ status: 'unavailable', missing, degraded });
      return;
    }
    res.json({ status: degraded.length > 0 ? 'degraded' : 'ready', degraded });
  });
  return router;
}

async function passes({ check }: DependencyCheck, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([Promise.resolve().then(check).then(() => true as const), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
