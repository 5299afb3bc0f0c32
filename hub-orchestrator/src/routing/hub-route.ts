import type { RouteLimit } from '@hubspoke/kit';

/** What route resolution decided for `/api/<prefix>/*`; read by edge auth, rate limiting and the proxy. */
export interface HubRoute {
  service: string;
  prefix: string;
  /** The path the spoke sees: the prefix stripped, no query string. */
  upstreamPath: string;
  /** The spoke declared this method + path public: no token needed. */
  isPublic: boolean;
  /** A stricter limit the spoke declared for this route (login, register). */
  routeLimit?: RouteLimit;
}

declare module 'express-serve-static-core' {
  interface Request {
    hubRoute?: HubRoute;
  }
}
