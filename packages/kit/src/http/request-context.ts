import type { RequestHandler } from 'express';
import { acceptRequestId, REQUEST_ID_HEADER, runWithContext } from '../context.js';

declare module 'express-serve-static-core' {
  interface Request {
    requestId: string;
  }
}

export interface RequestContextOptions {
  /** While true, responses carry `Connection: close` so keep-alive clients move to another instance. */
  isDraining?: () => boolean;
}

/**
 * Adopts the caller's X-Request-Id (set by the gateway, passed on by the hub) or makes one, echoes it,
 * and runs the rest of the request inside the async context the logger and outgoing calls read.
 */
export function requestContext({ isDraining }: RequestContextOptions = {}): RequestHandler {
  return (req, res, next) => {
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]);
    req.requestId = requestId;
    req.headers[REQUEST_ID_HEADER] = requestId;
    res.setHeader('X-Request-Id', requestId);
    if (isDraining?.()) res.setHeader('Connection', 'close');
    runWithContext({ requestId }, next);
  };
}
