import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { apiRoutes, createServiceApp, jsonBody, type ApiRoute, type Lifecycle, type Logger, type Metrics, type RegistryReader, type RevocationMirror, type TokenVerifier } from '@hubspoke/kit';
import { prefixRoutes } from './admin/prefix-routes.js';
import { registryRoutes } from './admin/registry-routes.js';
import { UPSTREAM_DEFAULTS, type HubConfig } from './config.js';
import { edgeAuth } from './edge/edge-auth.js';
import { prometheusTargets } from './discovery/prometheus-targets.js';
import { createHubMetrics } from './hub-metrics.js';
import { createRateLimiter } from './rate-limit/rate-limiter.js';
import { createApiReference } from './reference/api-reference.js';
import { publicHubRoutes } from './reference/public-hub-routes.js';
import { referenceAssets } from './reference/reference-page.js';
import { createProxy } from './routing/proxy.js';
import { answerUnresolved, resolveRoute } from './routing/resolve-route.js';
import { createRouteTable } from './routing/route-table.js';

export interface HubAppDeps {
  /** `upstream` defaults to UPSTREAM_DEFAULTS. */
  config: Pick<HubConfig, 'trustedProxyHops' | 'upstreamTimeoutMs' | 'upstreamTimeoutByPrefix' | 'breaker' | 'rateLimit'> & Partial<Pick<HubConfig, 'upstream' | 'validateResponses'>>;
  logger: Logger;
  metrics: Metrics;
  lifecycle: Pick<Lifecycle, 'isDraining'>;
  verifier: TokenVerifier;
  domain: {
    /** Started by the caller; the route table follows its changes and never calls Redis itself. */
    registry: Pick<RegistryReader, 'instances' | 'onChange' | 'state'>;
    /** For rate limits only: a client that fails fast while Redis is down (see rate-limit/rate-limiter.ts). */
    redis: Redis;
    /** The revocation list in memory (started by the caller); absent, a request with a token reads its entries from Redis. */
    revocations?: RevocationMirror;
    /** The jobs API (jobs/jobs.ts) and the dead-letter routes; absent in tests of the proxy alone. */
    jobs?: { routes: ApiRoute[] };
    dlq?: ApiRoute[];
    /** Route prefix ownership (ownership/owned-registry.ts, also the `registry` given here) for its admin routes. */
    prefixes?: Parameters<typeof prefixRoutes>[0]['owned'];
  };
  /** The hub's database and broker, for /ready; absent in tests of the proxy alone. */
  db?: HubReadiness['db'];
  bus?: HubReadiness['bus'];
}

/**
 * The hub: its own endpoints, then for `/api/*` route resolution → rate limit → edge auth → revocation →
 * the hub's API or the proxy. The hub's API sits behind the same edge as the spokes, so `/api/hub/*` is
 * authenticated and rate limited like everything else a client can reach; only the API reference
 * (`/api/hub/openapi.json`, `/api/hub/docs` and its assets) is public.
 */
export function createApp(context: HubAppDeps): Express {
  const { config, logger, metrics, verifier, domain: { registry, redis, revocations, jobs, dlq, prefixes } } = context;
  const upstream = config.upstream ?? UPSTREAM_DEFAULTS;
  const routes = createRouteTable({
    upstream: { breaker: config.breaker, ...upstream },
    logger,
    onBreaker: (u, from, to) => hubMetrics.breakerChanged(u.record.service, from, to),
  });
  const hubMetrics = createHubMetrics({
    registry: metrics.registry, routes, registryDownSince: () => registry.state().downSince ?? undefined, instances: registry,
  });
  routes.update(registry.instances());
  registry.onChange((instances) => routes.update(instances));
  const edgeLimits = createRateLimiter({
    redis, logger, registry: metrics.registry, trustedHops: config.trustedProxyHops, ...config.rateLimit, ...(revocations ? { revocations } : {}),
  });
  const reference = createApiReference({ registry, logger });
  const hubApi = apiRoutes({
    title: 'hub', version: '1', description: 'The hub\'s own API',
    routes: [
      ...registryRoutes({ routes, registry }), ...(prefixes ? prefixRoutes({ owned: prefixes, logger }) : []), ...(jobs?.routes ?? []), ...(dlq ?? []), ...reference.routes,
    ],
    verifier, validateResponses: config.validateResponses,
  });
  reference.setHubDocument(hubApi.document);

  return createServiceApp(context, {
    // Bodies stream to the spoke unparsed, whatever their size.
    body: false,
    // Without Redis the hub still routes on its last table: degraded, not unready.
    checks: { redis: { critical: false, check: () => assertConnected(registry.state().connected) } },
    internal: [prometheusTargets(routes)],
    routes: (app) => {
      // Limits (and the token's revocation entries) first, in one Redis call: every request counts, forged or unroutable.
      app.use(
        resolveRoute(routes), publicHubRoutes(hubApi.routes, ['/docs/assets/']), edgeLimits.beforeAuth, answerUnresolved(),
        edgeAuth({ verifier, revoked: edgeLimits.revoked }), edgeLimits.afterAuth,
      );
      // Only the hub's own API parses bodies (a job's items); proxied bodies stream through untouched.
      app.use('/api/hub', jsonBody({ limit: HUB_API_BODY_LIMIT }), hubApi.router, referenceAssets());
      app.use(createProxy({
        routes, metrics: hubMetrics, logger, trustedHops: config.trustedProxyHops,
        timeoutMs: config.upstreamTimeoutMs, timeoutByPrefix: config.upstreamTimeoutByPrefix, ...upstream,
      }));
    },
  });
}

// The gateway's own cap (GATEWAY_MAX_BODY_SIZE) is 1m: a job of a few thousand small items.
const HUB_API_BODY_LIMIT = '1mb';

type HubReadiness = Parameters<typeof createServiceApp>[0];

function assertConnected(connected: boolean): void {
  if (!connected) throw new Error('registry is not connected');
}
