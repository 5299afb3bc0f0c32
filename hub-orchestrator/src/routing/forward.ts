import { request, type Agent, type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';

/** Where an instance is reached: parsed once from its registry url, never per request. */
export interface ForwardTarget {
  hostname: string;
  port: number;
  /** `host:port`, the Host header the spoke sees. */
  host: string;
  /** The url's own path, put before every forwarded path ('' for a bare origin). */
  basePath: string;
  agent: Agent;
}

export function forwardTarget(url: string, agent: Agent): ForwardTarget {
  const parsed = new URL(url);
  return {
    hostname: parsed.hostname, port: Number(parsed.port) || 80, host: parsed.host, basePath: parsed.pathname.replace(/\/$/, ''), agent,
  };
}

/** What the proxy decides per attempt; the forwarder only moves bytes. */
export interface ForwardEvents {
  /** The request has a socket (pooled or connecting): the attempt's timers start here. */
  onSocket: (proxyReq: ClientRequest) => void;
  /** The spoke's response started; its headers may still be cleaned before they are copied. */
  onResponse: (proxyRes: IncomingMessage) => void;
  /** The request or the spoke's response failed (not when the client left: its close ends the attempt). */
  onError: (error: NodeJS.ErrnoException) => void;
}

/**
 * One attempt of a client request to one instance over its pooled connections: the client's headers
 * (already prepared by proxy-headers.ts) with the instance as Host, its body streamed, the response's
 * status and headers copied and its body streamed back. A request without a body is sent in one write.
 */
export function forward(req: IncomingMessage, res: ServerResponse, target: ForwardTarget, path: string, events: ForwardEvents): ClientRequest {
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  const proxyReq = request({
    hostname: target.hostname, port: target.port, method: req.method, path: target.basePath + path, headers: upstreamHeaders(req, target), agent: target.agent,
  });
  proxyReq.once('socket', () => events.onSocket(proxyReq));
  proxyReq.on('error', (error: NodeJS.ErrnoException) => {
    // The client is gone: its response's close ends the attempt, this is no fault of the instance.
    if (!req.socket?.writable && error.code === 'ECONNRESET') return void proxyReq.destroy();
    events.onError(error);
  });
  res.once('close', () => {
    if (!res.writableFinished) proxyReq.destroy();
  });
  proxyReq.once('response', (proxyRes) => {
    if (hasBody) stopUploadOnEarlyResponse(req, proxyReq, proxyRes);
    events.onResponse(proxyRes);
    if (res.headersSent) return void proxyRes.destroy();
    copyResponseHead(req, res, proxyRes);
    res.once('close', () => proxyRes.destroy());
    proxyRes.once('close', () => {
      if (!proxyRes.complete && !res.destroyed) res.destroy();
    });
    proxyRes.on('error', (error) => {
      if (!res.destroyed) res.destroy(error);
      events.onError(error);
    });
    proxyRes.pipe(res);
  });
  if (hasBody) {
    req.on('error', (error) => events.onError(error));
    req.pipe(proxyReq);
  } else {
    proxyReq.end();
  }
  return proxyReq;
}

function upstreamHeaders(req: IncomingMessage, target: ForwardTarget): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { ...req.headers, host: target.host };
  // The pooled connection is the hub's, so the client's Connection header is not forwarded; a chunked body
  // closes it after the exchange instead (request-smuggling guard).
  if (headers['transfer-encoding'] !== undefined) headers.connection = 'close';
  else delete headers.connection;
  if ((req.method === 'DELETE' || req.method === 'OPTIONS') && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
    headers['content-length'] = '0';
  }
  return headers;
}

/** Status and (cleaned) headers of the spoke's response, framed for the client's HTTP version. */
function copyResponseHead(req: IncomingMessage, res: ServerResponse, proxyRes: IncomingMessage): void {
  const headers = proxyRes.headers;
  if (req.httpVersion === '1.0' || proxyRes.statusCode === 204 || proxyRes.statusCode === 304) delete headers['transfer-encoding'];
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
  res.statusCode = proxyRes.statusCode ?? 502;
  if (proxyRes.statusMessage) res.statusMessage = proxyRes.statusMessage;
}

/** The spoke answered before the whole body was sent: the rest of the client's body is read and dropped. */
function stopUploadOnEarlyResponse(req: IncomingMessage, proxyReq: ClientRequest, proxyRes: IncomingMessage): void {
  if (proxyReq.writableFinished) return;
  const drain = () => {
    req.unpipe(proxyReq);
    req.resume();
  };
  proxyRes.once('end', () => {
    if (!proxyReq.writableFinished) drain();
  });
  proxyRes.once('close', () => {
    if (proxyReq.writableFinished) return;
    drain();
    proxyReq.destroy();
  });
}
