import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { UPSTREAM_IDLE_TIMEOUT_MS } from '@hubspoke/kit';
import { timeoutAfterIo, type IoTimer } from './io-timer.js';

/** Error code of the hub's own per-attempt limit, for proxy-errors.ts to classify. */
export const ATTEMPT_TIMEOUT = 'HUB_ATTEMPT_TIMEOUT';

/** Where an instance is reached: parsed once from its registry url, never per request, with its connection pool. */
export interface ForwardTarget {
  /** `host:port`, the Host header the spoke sees. */
  host: string;
  /** The url's own path, put before every forwarded path ('' for a bare origin). */
  basePath: string;
  pool: Pool;
}

export interface PoolLimits {
  /** As many connections as outstanding requests, so a request never waits in the pool's queue. */
  connections: number;
  /** A new connection must be established within this (undici's UND_ERR_CONNECT_TIMEOUT). */
  connectTimeoutMs: number;
}

/**
 * Keep-alive connections to one instance (undici: ≈ 30 % less CPU per forwarded request than node:http's
 * agent, bench/README.md). Idle connections close before the spoke's keepAliveTimeout, so a reused one never
 * races the server's close. Deadlines are the proxy's, so undici's own header and body timeouts are off.
 */
export function forwardTarget(url: string, { connections, connectTimeoutMs }: PoolLimits): ForwardTarget {
  const parsed = new URL(url);
  const pool = new Pool(parsed.origin, {
    connections, pipelining: 1, keepAliveTimeout: UPSTREAM_IDLE_TIMEOUT_MS, keepAliveMaxTimeout: UPSTREAM_IDLE_TIMEOUT_MS,
    connect: { timeout: connectTimeoutMs }, headersTimeout: 0, bodyTimeout: 0,
  });
  return { host: parsed.host, basePath: parsed.pathname.replace(/\/$/, ''), pool };
}

/** What the proxy decides per attempt; the forwarder only moves bytes. */
export interface ForwardEvents {
  /** The spoke's response started: its headers may be cleaned here, before they are copied to the client. */
  onResponse: (status: number, headers: IncomingHttpHeaders) => void;
  /** The request or the spoke's response failed, or the attempt ran out of time (not when the client left). */
  onError: (error: NodeJS.ErrnoException) => void;
}

export interface Forwarding {
  /** Stops the attempt quietly: the proxy has answered, or the attempt no longer matters. */
  abort: () => void;
}

/**
 * One attempt of a client request to one instance over its pool: the client's headers (already prepared by
 * proxy-headers.ts) with the instance as Host, its body streamed, the response's status and headers copied
 * and its body streamed back with backpressure. `attemptMs`, when set, bounds the wait for the response to start.
 */
export function forward(
  req: IncomingMessage, res: ServerResponse, target: ForwardTarget, path: string, attemptMs: number | undefined, events: ForwardEvents,
): Forwarding {
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  let controller: Dispatcher.DispatchController | undefined;
  let abortWith: Error | undefined;
  let responded = false;
  let over = false;
  let timer: IoTimer | undefined;
  // Undici may destroy the body it was given: a pass-through, so an early answer never breaks the client's socket.
  const body = hasBody ? new PassThrough() : null;

  const finish = () => {
    if (over) return false;
    over = true;
    timer?.clear();
    res.off('close', onClientClose);
    if (body) stopUpload(req, body);
    return true;
  };
  const stop = (error: Error) => {
    if (controller) controller.abort(error);
    else abortWith = error;
  };
  const fail = (error: Error) => {
    if (!finish()) return;
    stop(error);
    if (responded && !res.destroyed) res.destroy(error);
    events.onError(error);
  };
  // The client is gone: its response's close ends the attempt, this is no fault of the instance.
  const onClientClose = () => {
    if (res.writableFinished || !finish()) return;
    stop(new Error('the client closed the connection'));
  };
  res.once('close', onClientClose);
  if (attemptMs !== undefined) {
    timer = timeoutAfterIo(() => fail(Object.assign(new Error(`${ATTEMPT_TIMEOUT} after ${attemptMs} ms`), { code: ATTEMPT_TIMEOUT })), attemptMs);
  }

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(started) {
      controller = started;
      if (abortWith) started.abort(abortWith);
    },
    onResponseStart(_controller, status, headers, statusMessage) {
      if (over) return;
      if (status < 200) return;
      timer?.clear();
      responded = true;
      events.onResponse(status, headers);
      if (over) return;
      if (res.headersSent) return void fail(new Error('the hub already answered'));
      copyResponseHead(req, res, status, statusMessage, headers);
    },
    onResponseData(active, chunk) {
      if (over) return;
      if (!res.write(chunk)) {
        active.pause();
        res.once('drain', () => active.resume());
      }
    },
    onResponseEnd() {
      if (over) return;
      res.end();
      finish();
    },
    onResponseError(_controller, error) {
      fail(error);
    },
  };

  const headers = upstreamHeaders(req, target);
  try {
    target.pool.dispatch({
      method: req.method as Dispatcher.HttpMethod, path: target.basePath + path, headers, body,
      // A chunked request body closes the connection after the exchange (request-smuggling guard).
      reset: req.headers['transfer-encoding'] !== undefined,
    }, handler);
  } catch (error) {
    queueMicrotask(() => fail(error as Error));
  }
  if (body) {
    req.on('error', (error) => fail(error));
    req.pipe(body);
  }
  return { abort: () => void (finish() && stop(new Error('the hub gave up on this attempt'))) };
}

function upstreamHeaders(req: IncomingMessage, target: ForwardTarget): Record<string, string | string[]> {
  const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: target.host };
  // The pooled connection is the hub's: the client's Connection header is not forwarded. Undici frames the body
  // itself (chunked without a length) and refuses these headers; the hub already answered any Expect.
  delete headers.connection;
  delete headers['transfer-encoding'];
  delete headers.expect;
  if ((req.method === 'DELETE' || req.method === 'OPTIONS') && headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    headers['content-length'] = '0';
  }
  return headers as Record<string, string | string[]>;
}

/** Status and (cleaned) headers of the spoke's response, framed for the client's HTTP version. */
function copyResponseHead(req: IncomingMessage, res: ServerResponse, status: number, statusMessage: string | undefined, headers: IncomingHttpHeaders): void {
  if (req.httpVersion === '1.0' || status === 204 || status === 304) delete headers['transfer-encoding'];
  if (req.httpVersion === '1.0') headers.connection = req.headers.connection ?? 'close';
  else headers.connection ??= req.headers.connection ?? 'keep-alive';
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    try {
      res.setHeader(name, value);
    } catch {
      // A header Node refuses to send (invalid characters) is dropped, not the response.
    }
  }
  res.statusCode = status;
  if (statusMessage) res.statusMessage = statusMessage;
}

/** The attempt ended before the client's whole body was sent: the rest is read and dropped. */
function stopUpload(req: IncomingMessage, body: PassThrough): void {
  if (req.readableEnded) return;
  req.unpipe(body);
  req.resume();
}
