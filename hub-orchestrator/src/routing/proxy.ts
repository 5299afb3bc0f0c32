import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, RequestHandler } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import type { Logger } from '@hubspoke/kit';
import { forwardedFor } from '../edge/client-ip.js';
import type { HubMetrics } from '../hub-metrics.js';
import { pickUpstream } from './balancer.js';
import './hub-route.js';
import { noInstance, upstreamTimeout, upstreamUnreachable } from './hub-errors.js';
import { classifyUpstreamError, isRetryable } from './proxy-errors.js';
import { cleanUpstreamResponse, keepUpstreamConnection, prepareForwarding, setDeadline } from './proxy-headers.js';
import { HUB_PREFIX, type RouteEntry, type RouteTable } from './route-table.js';
import { acquire, release, type Upstream } from './upstream.js';

export interface ProxyOptions {
  routes: RouteTable;
  metrics: HubMetrics;
  logger: Logger;
  /** Deadline for a whole proxied exchange; a prefix may have its own. */
  timeoutMs: number;
  timeoutByPrefix?: Record<string, number>;
  /** Proxies in front of the hub whose X-Forwarded-For entries are believed (edge/client-ip.ts). */
  trustedHops: number;
}

interface Attempt {
  upstream: Upstream;
  proxyReq?: ClientRequest;
  responded: boolean;
  /** Decided from the status as soon as the response starts; the client's response may close first. */
  verdict?: Verdict;
  settled: boolean;
}

type Verdict = 'success' | 'failure' | 'none';

/** One client request through the proxy, across its (at most two) attempts. */
interface Exchange {
  entry: RouteEntry;
  upstreamPath: string;
  deadline: number;
  tried: Set<string>;
  attempt?: Attempt;
  retried: boolean;
  /** The hub has answered itself (error or timeout): late upstream events are ignored. */
  answered: boolean;
  next: NextFunction;
}

/**
 * `/api/<prefix>/*` → one ready instance, via http-proxy-middleware with its default plugins ejected:
 * its error plugin turns ECONNRESET into a 504, so every failure is mapped here instead.
 */
export function createProxy({ routes, metrics, logger, timeoutMs, timeoutByPrefix = {}, trustedHops }: ProxyOptions): RequestHandler {
  const exchanges = new WeakMap<IncomingMessage, Exchange>();

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

  const hpm = createProxyMiddleware({
    ejectPlugins: true,
    changeOrigin: true,
    router: (req, _res, options) => {
      const upstream = exchanges.get(req)!.attempt!.upstream;
      options.agent = upstream.agent;
      return upstream.record.url;
    },
    pathRewrite: (path, req) => {
      const query = path.indexOf('?');
      return exchanges.get(req)!.upstreamPath + (query === -1 ? '' : path.slice(query));
    },
    // A plugin rather than `on`: `on` is wired by a default plugin, and the defaults are ejected.
    plugins: [(proxy) => {
      proxy.on('proxyReq', (proxyReq, req) => {
        const ex = exchanges.get(req)!;
        ex.attempt!.proxyReq = proxyReq;
        keepUpstreamConnection(proxyReq, req);
      });
      proxy.on('proxyRes', (proxyRes, req, res) => {
        const ex = exchanges.get(req)!;
        const attempt = ex.attempt!;
        attempt.responded = true;
        const failed = (proxyRes.statusCode ?? 0) >= 500;
        if (failed) metrics.upstreamError(ex.entry.service, '5xx');
        attempt.verdict = failed ? 'failure' : 'success';
        proxyRes.once('close', () => settle(attempt));
        cleanUpstreamResponse(proxyRes, res, String(req.headers['x-request-id'] ?? ''));
      });
      proxy.on('error', (error, req, res) => {
        const ex = req && exchanges.get(req);
        const attempt = ex?.attempt;
        if (!ex || !attempt || attempt.settled) return;
        const { service } = ex.entry;
        metrics.upstreamError(service, classifyUpstreamError(error));
        settle(attempt, 'failure');
        if (ex.answered) return;
        const response = res as ServerResponse;
        if (attempt.responded || response.headersSent) return answer(ex, response, error);
        logger.warn({ err: error, service, instanceId: attempt.upstream.record.instanceId }, 'upstream connection failed');
        if (!ex.retried && isRetryable(req.method, req.headers)) {
          ex.retried = true;
          metrics.retried(service);
          if (send(ex, req, response)) return;
        }
        answer(ex, response, upstreamUnreachable(service, error));
      });
    }],
  });

  /** Starts an attempt on the best instance not yet tried; false when none is left. */
  function send(ex: Exchange, req: IncomingMessage, res: ServerResponse): boolean {
    const upstream = pickUpstream(ex.entry.ready, ex.tried);
    if (!upstream) return false;
    acquire(upstream);
    ex.tried.add(upstream.key);
    ex.attempt = { upstream, responded: false, settled: false };
    setDeadline(req, ex.deadline - Date.now());
    void hpm(req, res, (error?: unknown) => answer(ex, res, error instanceof Error ? error : new Error(String(error))));
    return true;
  }

  function onDeadline(ex: Exchange, res: ServerResponse, budgetMs: number) {
    const attempt = ex.attempt;
    if (ex.answered || !attempt || (attempt.settled && attempt.responded)) return;
    metrics.upstreamError(ex.entry.service, 'timeout');
    settle(attempt, 'failure');
    attempt.proxyReq?.destroy();
    answer(ex, res, upstreamTimeout(ex.entry.service, budgetMs));
  }

  return (req, res, next) => {
    const route = req.hubRoute;
    const entry = route && route.prefix !== HUB_PREFIX ? routes.lookup(route.prefix) : undefined;
    if (!route || !entry) return next();
    const started = process.hrtime.bigint();
    const budgetMs = timeoutByPrefix[route.prefix] ?? timeoutMs;
    const ex: Exchange = {
      entry, upstreamPath: route.upstreamPath, deadline: Date.now() + budgetMs,
      tried: new Set(), retried: false, answered: false, next,
    };
    exchanges.set(req, ex);
    prepareForwarding(req, forwardedFor(req, trustedHops));
    const timer = setTimeout(() => onDeadline(ex, res, budgetMs), budgetMs);
    res.once('close', () => {
      clearTimeout(timer);
      if (ex.attempt) settle(ex.attempt);
      // 499 (nginx's "client closed request") when the client left before any response.
      metrics.proxied(entry.service, res.headersSent ? res.statusCode : 499, Number(process.hrtime.bigint() - started) / 1e9);
    });
    if (send(ex, req, res)) return;
    const retryInMs = Math.min(...entry.ready.map((u) => u.breaker.retryInMs()));
    answer(ex, res, noInstance(entry.service, Number.isFinite(retryInMs) ? retryInMs / 1000 : 1));
  };
}
