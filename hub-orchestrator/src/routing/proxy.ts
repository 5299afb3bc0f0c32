import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, RequestHandler } from 'express';
import type { Logger } from '@hubspoke/kit';
import { forwardedFor } from '../edge/client-ip.js';
import type { HubMetrics } from '../hub-metrics.js';
import { pickUpstream } from './balancer.js';
import './hub-route.js';
import { noInstance, overloaded, upstreamTimeout, upstreamUnreachable } from './hub-errors.js';
import { forward, type Forwarding } from './forward.js';
import { classifyUpstreamError, deferralOf, isRetryable } from './proxy-errors.js';
import { cleanUpstreamResponse, prepareForwarding, setDeadline } from './proxy-headers.js';
import { HUB_PREFIX, type RouteEntry, type RouteTable } from './route-table.js';
import { timeoutAfterIo } from './io-timer.js';
import { acquire, release, type Upstream } from './upstream.js';

export interface ProxyOptions {
  routes: RouteTable;
  metrics: HubMetrics;
  logger: Logger;
  /** Deadline for a whole proxied exchange; a prefix may have its own. */
  timeoutMs: number;
  timeoutByPrefix?: Record<string, number>;
  /**
   * Per attempt, for a request that can still be retried on another instance (a sole instance gets the
   * whole deadline); a prefix may have its own.
   */
  attemptTimeoutMs: number;
  attemptTimeoutByPrefix?: Record<string, number>;
  /** Outstanding requests per instance beyond which the hub answers 503 at once. */
  maxOutstanding: number;
  /** Proxies in front of the hub whose X-Forwarded-For entries are believed (edge/client-ip.ts). */
  trustedHops: number;
}

interface Attempt {
  upstream: Upstream;
  startedAt: number;
  /** Set when another instance could take a retry: the attempt gives up after this long. */
  timeoutMs?: number;
  forwarding?: Forwarding;
  responded: boolean;
  /** Decided from the status as soon as the response starts; the client's response may close first. */
  verdict?: Verdict;
  settled: boolean;
}

type Verdict = 'success' | 'failure' | 'none';
type Sent = 'sent' | 'no-instance' | 'overloaded';

/**
 * A timeout counts against an instance only if it answered nothing since the attempt began: one that
 * keeps answering others is saturated, not broken, and load shedding, not the breaker, deals with that.
 */
const timeoutVerdict = (attempt: Attempt): Verdict => (attempt.upstream.lastAnswerAt >= attempt.startedAt ? 'none' : 'failure');

/** One client request through the proxy, across its (at most two) attempts. */
interface Exchange {
  entry: RouteEntry;
  upstreamPath: string;
  deadline: number;
  attemptTimeoutMs: number;
  retryable: boolean;
  tried: Set<string>;
  attempt?: Attempt;
  retried: boolean;
  /** The hub has answered itself (error or timeout): late upstream events are ignored. */
  answered: boolean;
  next: NextFunction;
}

/**
 * `/api/<prefix>/*` → one ready instance, forwarded with undici over the instance's keep-alive pool
 * (forward.ts); every failure is mapped here. http-proxy-middleware did this before: it cost the hub
 * more CPU per request than the forwarding itself (bench/README.md).
 */
export function createProxy(options: ProxyOptions): RequestHandler {
  const { routes, metrics, logger, timeoutMs, timeoutByPrefix = {}, attemptTimeoutByPrefix = {}, maxOutstanding, trustedHops } = options;

  const settle = (attempt: Attempt, verdict: Verdict = attempt.verdict ?? 'none') => {
    if (attempt.settled) return;
    attempt.settled = true;
    const { breaker } = attempt.upstream;
    if (verdict === 'success') breaker.success();
    else if (verdict === 'failure') breaker.failure();
    else breaker.abandoned();
    release(attempt.upstream);
  };

  const answer = (ex: Exchange, res: ServerResponse, error: Error) => {
    if (ex.answered) return;
    ex.answered = true;
    if (res.headersSent) res.destroy(error);
    else ex.next(error);
  };

  // The attempt is settled when the client's response closes (the handler in the middleware below), with this verdict.
  const onResponse = (ex: Exchange, attempt: Attempt, status: number, headers: IncomingHttpHeaders, req: IncomingMessage, res: ServerResponse) => {
    attempt.responded = true;
    attempt.upstream.lastAnswerAt = Date.now();
    if (status >= 500) metrics.upstreamError(ex.entry.service, '5xx');
    // "Not now" from the instance itself is no breaker failure: its database restarting would otherwise open every
    // instance's breaker and stretch a one-second blip into a cool-down of the hub's own 503s (docs/ARCHITECTURE.md).
    const deferMs = deferralOf(status, headers['retry-after']);
    if (deferMs !== undefined) attempt.upstream.deferUntil = Date.now() + deferMs;
    else if (status < 500) attempt.upstream.deferUntil = 0;
    attempt.verdict = deferMs !== undefined ? 'none' : status >= 500 ? 'failure' : 'success';
    cleanUpstreamResponse(headers, res, String(req.headers['x-request-id'] ?? ''));
  };

  // An event of an earlier attempt (destroyed on its timeout, already settled) is stale and ignored.
  const onError = (ex: Exchange, attempt: Attempt, error: Error, req: IncomingMessage, res: ServerResponse) => {
    if (attempt.settled) return;
    const { service } = ex.entry;
    const kind = classifyUpstreamError(error);
    metrics.upstreamError(service, kind);
    // It stopped accepting connections: no request (nor breaker probe) goes there until it does again.
    if (kind === 'refused') attempt.upstream.eject();
    settle(attempt, kind === 'timeout' ? timeoutVerdict(attempt) : 'failure');
    if (ex.answered) return;
    if (attempt.responded || res.headersSent) return answer(ex, res, error);
    logger.warn({ err: error, service, instanceId: attempt.upstream.record.instanceId }, 'upstream attempt failed');
    let sent: Sent = 'no-instance';
    if (!ex.retried && ex.retryable) {
      ex.retried = true;
      metrics.retried(service);
      sent = send(ex, req, res);
      if (sent === 'sent') return;
    }
    if (sent === 'overloaded') return shedLoad(ex, res);
    answer(ex, res, kind === 'timeout' ? upstreamTimeout(service, attempt.timeoutMs ?? 0) : upstreamUnreachable(service, error));
  };

  /** Starts an attempt on the least loaded instance not yet tried, unless none is left or all are at their limit. */
  function send(ex: Exchange, req: IncomingMessage, res: ServerResponse): Sent {
    const upstream = pickUpstream(ex.entry.ready, ex.tried);
    if (!upstream) return 'no-instance';
    if (upstream.inFlight >= maxOutstanding) return 'overloaded';
    acquire(upstream);
    ex.tried.add(upstream.key);
    const remainingMs = ex.deadline - Date.now();
    const cutShort = ex.retryable && !ex.retried && ex.attemptTimeoutMs < remainingMs && pickUpstream(ex.entry.ready, ex.tried) !== undefined;
    const attempt: Attempt = { upstream, startedAt: Date.now(), responded: false, settled: false, ...(cutShort ? { timeoutMs: ex.attemptTimeoutMs } : {}) };
    ex.attempt = attempt;
    setDeadline(req, cutShort ? ex.attemptTimeoutMs : remainingMs);
    const query = req.url?.indexOf('?') ?? -1;
    const path = (ex.upstreamPath.startsWith('/') ? ex.upstreamPath : `/${ex.upstreamPath}`) + (query === -1 ? '' : req.url!.slice(query));
    attempt.forwarding = forward(req, res, upstream.target, path, attempt.timeoutMs, {
      onResponse: (status, headers) => onResponse(ex, attempt, status, headers, req, res),
      onError: (error) => onError(ex, attempt, error, req, res),
    });
    return 'sent';
  }

  function shedLoad(ex: Exchange, res: ServerResponse) {
    metrics.shed(ex.entry.service);
    answer(ex, res, overloaded(ex.entry.service));
  }

  function onDeadline(ex: Exchange, res: ServerResponse, budgetMs: number) {
    const attempt = ex.attempt;
    if (ex.answered || !attempt || (attempt.settled && attempt.responded)) return;
    metrics.upstreamError(ex.entry.service, 'timeout');
    settle(attempt, timeoutVerdict(attempt));
    attempt.forwarding?.abort();
    answer(ex, res, upstreamTimeout(ex.entry.service, budgetMs));
  }

  return (req, res, next) => {
    const route = req.hubRoute;
    const entry = route && route.prefix !== HUB_PREFIX ? routes.lookup(route.prefix) : undefined;
    if (!route || !entry) return next();
    // The client left while the edge (token, rate limit) was waiting: its 'close' has been emitted and
    // will not come again, and its request stream will never end, so a proxied request would wait,
    // headers unsent, for the deadline and then be counted against a healthy instance.
    if (res.destroyed || req.destroyed) return metrics.proxied(entry.service, 499, 0);
    const started = process.hrtime.bigint();
    const budgetMs = timeoutByPrefix[route.prefix] ?? timeoutMs;
    const ex: Exchange = {
      entry, upstreamPath: route.upstreamPath, deadline: Date.now() + budgetMs,
      attemptTimeoutMs: attemptTimeoutByPrefix[route.prefix] ?? options.attemptTimeoutMs,
      retryable: isRetryable(req.method, req.headers),
      tried: new Set(), retried: false, answered: false, next,
    };
    prepareForwarding(req, forwardedFor(req, trustedHops));
    const timer = timeoutAfterIo(() => onDeadline(ex, res, budgetMs), budgetMs);
    res.once('close', () => {
      timer.clear();
      if (ex.attempt) settle(ex.attempt);
      // 499 (nginx's "client closed request") when the client left before any response.
      metrics.proxied(entry.service, res.headersSent ? res.statusCode : 499, Number(process.hrtime.bigint() - started) / 1e9);
    });
    const sent = send(ex, req, res);
    if (sent === 'sent') return;
    if (sent === 'overloaded') return shedLoad(ex, res);
    const retryInMs = Math.min(...entry.ready.map((u) => u.breaker.retryInMs()));
    answer(ex, res, noInstance(entry.service, Number.isFinite(retryInMs) ? retryInMs / 1000 : 1));
  };
}
