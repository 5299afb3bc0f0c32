import { isRevoked, revocationKeys, serviceUnavailable, tooManyRequests, type Logger, type RevocationEntries, type RevocationMirror } from '@hubspoke/kit';
import type { Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { Counter, Histogram, type Registry } from 'prom-client';
import { clientIp } from '../edge/client-ip.js';
import { unverifiedClaims } from '../edge/unverified-claims.js';
import { createMemoryStore } from './memory-store.js';
import { createRedisStore } from './redis-store.js';
import { createSyncedStore } from './synced-store.js';
import type { HubRoute } from '../routing/hub-route.js';
import { describeScope, headlineScope, type CounterStore, type EdgeLookup, type HitResult, type ScopeCheck, type WindowLimit } from './sliding-window.js';

/**
 * Hub rate limits and token revocation, before edge auth, answered from memory where that is safe: counters
 * synced with Redis every `syncMs` (synced-store.ts, which states how far past a limit replicas can go
 * between syncs) and the revocation list mirrored through Redis's own change notices (kit
 * auth/revocation-mirror.ts), so the requests of a busy client never wait for Redis. The others are checked
 * exactly across replicas, in one script call per event-loop turn for all of them (redis-store.ts): a
 * client's first request or its first after a quiet spell (a counter not fresh), requests to a route with its
 * own limit (login, register: small quotas that guard against guessing), those whose revocation entries the
 * mirror cannot vouch for (loading, a connection lost, an entry being re-read), and all of them while a sync
 * is failing. `syncMs: 0` checks every request that way.
 *
 * Scopes, shared by every hub replica:
 *   ip     per client address (see edge/client-ip.ts)     default 600 requests / 60 s
 *   route  per client address on a route a spoke declared (`routeLimits`, e.g. login/register), its own quota
 *   user   per token subject                               default 300 requests / 60 s
 * `beforeAuth` runs ahead of edge auth and of route errors, so every request counts for its address: forged
 * tokens (401) and unknown prefixes (404) too, and a limited client costs no signature check. ip and route
 * are checked and counted atomically; the user scope is checked in the same call under the `sub` the token
 * claims, and counted by `afterAuth` only once the token verified, so forged tokens never spend a real
 * user's quota; that count rides in the next batched call or sync. So the user scope may let through, beyond
 * its limit, the user's requests that were checked but not yet counted: those in flight at the edge on each
 * replica. The token's revocation entries (kit auth/revocation.ts) come from the mirror or the same call;
 * edge auth asks `revoked` and refuses a verified but revoked token (401 AUTH.TOKEN_REVOKED). A request refused here (429
 * RATE_LIMIT.EXCEEDED, Retry-After) counts nowhere. Every limited response carries
 * RateLimit-Limit/-Remaining/-Reset for its tightest scope.
 *
 * Redis down: availability over strictness. Any Redis error (main.ts builds the client with
 * `enableOfflineQueue: false`, `commandTimeout: 150`, `maxRetriesPerRequest: 1`, so it fails in
 * milliseconds instead of queueing) makes every request of the batch fall back to this process's counters
 * (`fallback` quotas, by default the same, so N replicas let up to N× through): the synced store's, which
 * hold Redis's last totals and keep what they count for the first sync that succeeds, so a call that only
 * timed out (a hub held up past `commandTimeout`) does not start a client over from zero; with `syncMs: 0`, a
 * memory store of their own (memory-store.ts). Revocations cannot be read: tokens are accepted until they expire or Redis returns. A route whose limit
 * says `onStoreDown: 'closed'` is refused instead (503 RATE_LIMIT.UNAVAILABLE, Retry-After), for routes
 * where an unbounded guess rate is worse than an outage (password login).
 */
export interface RateLimiterOptions {
  redis: Redis;
  /** Namespaces the counters, e.g. 'hub:rl'. */
  keyPrefix: string;
  /** Namespace of the revocation entries the auth spoke writes (REGISTRY_KEY_PREFIX). */
  revocationKeyPrefix?: string;
  logger: Logger;
  trustedHops: number;
  perIp?: WindowLimit;
  perUser?: WindowLimit;
  /** Per-process quotas while Redis is down; route limits keep their own. */
  fallback?: { perIp?: WindowLimit; perUser?: WindowLimit };
  /** Where hub_rate_limited_total{scope}, hub_rate_limit_store_errors_total and hub_revoked_tokens_total are registered. */
  registry?: Registry;
  /** How often this replica's counts meet the other replicas' in Redis; 0: every request checked in Redis. */
  syncMs?: number;
  /** The revocation list in memory; without it a request with a token reads its entries from Redis. */
  revocations?: RevocationMirror;
}

const DEFAULT_PER_IP: WindowLimit = { limit: 600, windowMs: 60_000 };
const DEFAULT_PER_USER: WindowLimit = { limit: 300, windowMs: 60_000 };
const STORE_DOWN_RETRY_AFTER_SEC = 5;
const DEFAULT_SYNC_MS = 50;

interface Limits {
  perIp: WindowLimit;
  perUser: WindowLimit;
}

/** How a request's limits were checked, and its token's revocation entries. */
interface Decision {
  scopes: EdgeLookup;
  /** Where the user scope is counted once the token verified. */
  store: Pick<CounterStore, 'count'>;
  result: HitResult;
  entries: RevocationEntries;
}

const NOT_REVOKED: RevocationEntries = Object.freeze({ token: null, userNotBefore: null });

/** What `beforeAuth` learnt about the request's token, for `revoked` and `afterAuth`. */
interface EdgeLimitState {
  user?: { check: ScopeCheck; store: Pick<CounterStore, 'count'>; sub: string };
  revocation?: { jti: string; sub: string; token: string | null; userNotBefore: string | null };
}

declare module 'express-serve-static-core' {
  interface Request {
    hubEdgeLimits?: EdgeLimitState;
  }
}

export interface RateLimiter {
  /** Before edge auth: every limit in one Redis call, which also reads the token's revocation entries. */
  beforeAuth: RequestHandler;
  /** For edge auth, once the token verified: whether it is revoked. */
  revoked: (req: Request) => boolean;
  /** After edge auth: counts the request for its verified user. */
  afterAuth: RequestHandler;
  /** Sends this replica's counts not synced yet (at shutdown; tests). */
  flush: () => Promise<void>;
  close: () => void;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { redis, keyPrefix, logger, trustedHops, perIp = DEFAULT_PER_IP, perUser = DEFAULT_PER_USER } = options;
  const limits: Limits = { perIp, perUser };
  const fallbackLimits: Limits = { perIp: options.fallback?.perIp ?? perIp, perUser: options.fallback?.perUser ?? perUser };
  const revocations = revocationKeys(options.revocationKeyPrefix ?? '');
  const metrics = rateLimitMetrics(options.registry);
  const shared = createRedisStore(redis, (entries) => metrics.batch.observe(entries));
  const synced = options.syncMs === 0 ? undefined : createSyncedStore(redis, { syncMs: options.syncMs ?? DEFAULT_SYNC_MS, onSync: (keys) => metrics.batch.observe(keys) });
  // Where requests are checked and counted while Redis fails (see "Redis down" above).
  const fallbackStore: CounterStore = synced ? { hit: (scopes) => synced.hitFromMemory(scopes), count: (check) => synced.count(check) } : createMemoryStore();
  if (redis.options.enableOfflineQueue !== false || !redis.options.commandTimeout) {
    logger.warn('rate limit: the Redis client queues or waits while Redis is down; requests will stall in an outage');
  }
  let storeDown = false;

  const lookup = (ip: string, route: HubRoute | undefined, sub: string | undefined, jti: string | undefined, quota: Limits): EdgeLookup => {
    const counted: ScopeCheck[] = [{ scope: 'ip', key: `${keyPrefix}:ip:${ip}`, limit: quota.perIp.limit, windowMs: quota.perIp.windowMs }];
    const routeLimit = route?.routeLimit;
    if (route && routeLimit) {
      counted.push({
        scope: 'route', key: `${keyPrefix}:route:${route.service}:${routeLimit.method}:${routeLimit.path}:${ip}`, limit: routeLimit.limit, windowMs: routeLimit.windowMs,
      });
    }
    return {
      counted,
      watched: sub ? [{ scope: 'user', key: `${keyPrefix}:user:${sub}`, limit: quota.perUser.limit, windowMs: quota.perUser.windowMs }] : [],
      reads: sub && jti ? [revocations.token(jti), revocations.user(sub)] : [],
    };
  };

  /** Synced counters and the mirrored revocation list; undefined when this request must go through Redis. */
  const fromMemory = (ip: string, route: HubRoute | undefined, sub: string | undefined, jti: string | undefined): Decision | undefined => {
    if (!synced?.healthy() || route?.routeLimit) return undefined;
    const mirrored = sub && jti ? options.revocations?.entries(jti, sub) : undefined;
    if (sub && jti && !mirrored) return undefined;
    const scopes = lookup(ip, route, sub, undefined, limits);
    const result = synced.hit(scopes);
    return result && { scopes, store: synced, result, entries: mirrored ?? NOT_REVOKED };
  };

  /** One script call shared with the turn's other requests; while Redis fails, this process's fallback or a refusal. */
  const fromRedis = async (ip: string, route: HubRoute | undefined, sub: string | undefined, jti: string | undefined): Promise<Decision | Error> => {
    let scopes = lookup(ip, route, sub, jti, limits);
    let store: Pick<CounterStore, 'count'> = shared;
    let result: HitResult;
    try {
      // Counts this replica holds and has not synced yet: the check in Redis counts them against the limit.
      const pending = synced ? [...scopes.counted, ...scopes.watched].map((check) => synced.pending(check)) : [];
      const anyPending = pending.some((n) => n > 0);
      result = await shared.hit(anyPending ? lowered(scopes, pending) : scopes);
      synced?.observe(scopes, result);
      if (anyPending) result = { ...result, counts: result.counts.map((counts, i) => ({ ...counts, current: counts.current + pending[i]! })) };
      if (storeDown) logger.info('rate limit: Redis is back, limits are shared again');
      storeDown = false;
    } catch (error) {
      metrics.storeErrors.inc();
      if (!storeDown) logger.warn({ err: error }, 'rate limit: Redis unavailable, falling back to per-process limits');
      storeDown = true;
      if (route?.routeLimit?.onStoreDown === 'closed') {
        return serviceUnavailable('RATE_LIMIT.UNAVAILABLE', 'Rate limiting is unavailable for this route, try again shortly', STORE_DOWN_RETRY_AFTER_SEC);
      }
      scopes = lookup(ip, route, sub, jti, fallbackLimits);
      store = fallbackStore;
      result = await fallbackStore.hit(scopes);
    }
    return { scopes, store, result, entries: { token: result.values[0] ?? null, userNotBefore: result.values[1] ?? null } };
  };

  const beforeAuth: RequestHandler = async (req, res, next) => {
    const ip = clientIp(req, trustedHops);
    const route = req.hubRoute;
    const { sub, jti } = unverifiedClaims(req);
    const decision = fromMemory(ip, route, sub, jti) ?? (await fromRedis(ip, route, sub, jti));
    if (decision instanceof Error) return next(decision);
    const { scopes, store, result, entries } = decision;

    const checks = [...scopes.counted, ...scopes.watched];
    const headline = headlineScope(result.counts.map((counts, i) => describeScope(checks[i] as ScopeCheck, counts, result.allowed)));
    if (headline) setRateLimitHeaders(res, headline.check.limit, headline.remaining, headline.exceeded ? headline.retryAfterMs : headline.resetMs);
    if (!result.allowed && headline) {
      metrics.limited.inc({ scope: headline.check.scope });
      return next(tooManyRequests('RATE_LIMIT.EXCEEDED', headline.retryAfterMs / 1000, 'Too many requests, slow down'));
    }
    const [user] = scopes.watched;
    req.hubEdgeLimits = {
      ...(user && sub ? { user: { check: user, store, sub } } : {}),
      ...(sub && jti ? { revocation: { jti, sub, ...entries } } : {}),
    };
    next();
  };

  const revoked = (req: Request): boolean => {
    const { auth } = req;
    const revocation = req.hubEdgeLimits?.revocation;
    // The entries were read under the claims of this very token; it has now verified, so they are its own.
    if (!auth || !revocation || revocation.jti !== auth.tokenId || revocation.sub !== auth.userId || !isRevoked(auth.issuedAt, revocation)) return false;
    metrics.revoked.inc();
    return true;
  };

  const afterAuth: RequestHandler = (req, _res, next) => {
    const { auth } = req;
    const user = req.hubEdgeLimits?.user;
    if (auth && user && user.sub === auth.userId) {
      Promise.resolve(user.store.count(user.check)).catch((error: unknown) => logger.debug({ err: error }, 'rate limit: counting the user failed'));
    }
    next();
  };
  return { beforeAuth, revoked, afterAuth, flush: async () => synced?.flush(), close: () => synced?.close() };
}

/** The lookup with each scope's limit lowered by what this replica counted that Redis does not hold yet. */
function lowered({ counted, watched, reads }: EdgeLookup, pending: number[]): EdgeLookup {
  const lower = (check: ScopeCheck, i: number): ScopeCheck => ({ ...check, limit: check.limit - pending[i]! });
  return { counted: counted.map(lower), watched: watched.map((check, i) => lower(check, counted.length + i)), reads };
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
    revoked: (existing('hub_revoked_tokens_total') as Counter | undefined) ??
      new Counter({ name: 'hub_revoked_tokens_total', help: 'Requests refused because their verified access token was revoked (logout, account deleted)', registers }),
    batch: (existing('hub_rate_limit_batch_entries') as Histogram | undefined) ??
      new Histogram({
        name: 'hub_rate_limit_batch_entries', help: 'Checks and counts, or synced counters, sent to Redis in one script call (_count: calls, _sum: entries)',
        buckets: [1, 2, 4, 8, 16, 32, 64, 128, 200, 500], registers,
      }),
  };
}
