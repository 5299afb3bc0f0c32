import { serviceUnavailable, tooManyRequests, type Logger } from '@hubspoke/kit';
import type { RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { clientIp } from '../edge/client-ip.js';
import { createMemoryStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';
import { describeScope, headlineScope, type HitResult, type ScopeCheck, type WindowLimit } from './sliding-window.js';

/**
 * Hub rate limits.
 *
 * Scopes, all checked and counted in one Redis script call per request, shared by every hub replica:
 *   ip     per client address (see edge/client-ip.ts)     default 600 requests / 60 s
 *   user   per token subject, when a token was verified    default 300 requests / 60 s
 *   route  per client address on a route a spoke declared (`routeLimits`, e.g. login/register), its own quota
 * A request is refused (429 RATE_LIMIT.EXCEEDED, Retry-After) if any scope is exhausted, and then counts
 * nowhere. Every limited response carries RateLimit-Limit/-Remaining/-Reset for its tightest scope.
 * It runs after edge auth, so requests refused there (401) are not counted: they cost one signature check
 * and never reach a spoke.
 *
 * Redis down: availability over strictness. Any Redis error (main.ts builds the client with
 * `enableOfflineQueue: false`, `commandTimeout: 150`, `maxRetriesPerRequest: 1`, so it fails in
 * milliseconds instead of queueing) makes that request fall back to an in-memory limiter
 * in this process (`fallback`, by default the same quotas, so N replicas let up to N× through). A route
 * whose limit says `onStoreDown: 'closed'` is refused instead (503 RATE_LIMIT.UNAVAILABLE, Retry-After),
 * for routes where an unbounded guess rate is worse than an outage (password login).
 */
export interface RateLimiterOptions {
  redis: Redis;
  /** Namespaces the counters, e.g. 'hub:rl'. */
  keyPrefix: string;
  logger: Logger;
  trustedHops: number;
  perIp?: WindowLimit;
  perUser?: WindowLimit;
  /** Per-process quotas while Redis is down; route limits keep their own. */
  fallback?: { perIp?: WindowLimit; perUser?: WindowLimit };
  /** Where hub_rate_limited_total{scope} and hub_rate_limit_store_errors_total are registered. */
  registry?: Registry;
}

const DEFAULT_PER_IP: WindowLimit = { limit: 600, windowMs: 60_000 };
const DEFAULT_PER_USER: WindowLimit = { limit: 300, windowMs: 60_000 };
const STORE_DOWN_RETRY_AFTER_SEC = 5;

export function createRateLimiter(options: RateLimiterOptions): { middleware: RequestHandler } {
  const { redis, keyPrefix, logger, trustedHops, perIp = DEFAULT_PER_IP, perUser = DEFAULT_PER_USER } = options;
  const fallbackLimits = { perIp: options.fallback?.perIp ?? perIp, perUser: options.fallback?.perUser ?? perUser };
  const shared = createRedisStore(redis);
  const local = createMemoryStore();
  const metrics = rateLimitMetrics(options.registry);
  if (redis.options.enableOfflineQueue !== false || !redis.options.commandTimeout) {
    logger.warn('rate limit: the Redis client queues or waits while Redis is down; requests will stall in an outage');
  }
  let storeDown = false;

  const middleware: RequestHandler = async (req, res, next) => {
    const ip = clientIp(req, trustedHops);
    const route = req.hubRoute;
    const userId = req.auth?.userId;
    const checks = (limits: { perIp: WindowLimit; perUser: WindowLimit }): ScopeCheck[] => [
      { scope: 'ip', key: `${keyPrefix}:ip:${ip}`, ...limits.perIp },
      ...(userId ? [{ scope: 'user' as const, key: `${keyPrefix}:user:${userId}`, ...limits.perUser }] : []),
      ...(route?.routeLimit
        ? [{ scope: 'route' as const, key: `${keyPrefix}:route:${route.service}:${route.routeLimit.method}:${route.routeLimit.path}:${ip}`,
            limit: route.routeLimit.limit, windowMs: route.routeLimit.windowMs }]
        : []),
    ];

    let scopes = checks({ perIp, perUser });
    let result: HitResult;
    try {
      result = await shared.hit(scopes);
      if (storeDown) logger.info('rate limit: Redis is back, limits are shared again');
      storeDown = false;
    } catch (error) {
      metrics.storeErrors.inc();
      if (!storeDown) logger.warn({ err: error }, 'rate limit: Redis unavailable, falling back to per-process limits');
      storeDown = true;
      if (route?.routeLimit?.onStoreDown === 'closed') {
        return next(serviceUnavailable('RATE_LIMIT.UNAVAILABLE', 'Rate limiting is unavailable for this route, try again shortly', STORE_DOWN_RETRY_AFTER_SEC));
      }
      scopes = checks(fallbackLimits);
      result = await local.hit(scopes);
    }

    const headline = headlineScope(result.counts.map((counts, i) => describeScope(scopes[i] as ScopeCheck, counts, result.allowed)));
    if (headline) setRateLimitHeaders(res, headline.check.limit, headline.remaining, headline.exceeded ? headline.retryAfterMs : headline.resetMs);
    if (result.allowed || !headline) return next();
    metrics.limited.inc({ scope: headline.check.scope });
    next(tooManyRequests('RATE_LIMIT.EXCEEDED', headline.retryAfterMs / 1000, 'Too many requests, slow down'));
  };
  return { middleware };
}

function setRateLimitHeaders(res: Response, limit: number, remaining: number, resetMs: number): void {
  res.setHeader('RateLimit-Limit', String(limit));
  res.setHeader('RateLimit-Remaining', String(remaining));
  res.setHeader('RateLimit-Reset', String(Math.max(1, Math.ceil(resetMs / 1000))));
}

function rateLimitMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : [];
  // A registry refuses a second metric with the same name; reuse it when two limiters share one.
  const existing = (name: string) => registry?.getSingleMetric(name);
  return {
    limited: (existing('hub_rate_limited_total') as Counter<'scope'> | undefined) ??
      new Counter({ name: 'hub_rate_limited_total', help: 'Requests refused by a rate limit, by scope (ip, user, route)', labelNames: ['scope'] as const, registers }),
    storeErrors: (existing('hub_rate_limit_store_errors_total') as Counter | undefined) ??
      new Counter({ name: 'hub_rate_limit_store_errors_total', help: 'Rate-limit checks that failed to reach Redis and used the fallback or refused', registers }),
  };
}
