import { authenticate, isAppError, tokenRevoked, type TokenVerifier } from '@hubspoke/kit';
import type { Request, RequestHandler } from 'express';

export interface EdgeAuthOptions {
  verifier: TokenVerifier;
  /**
   * Whether the request's verified token is revoked, from what the rate limiter read in its Redis call
   * (rate-limit/rate-limiter.ts): asked on every request, whatever verified the token or cached its claims.
   */
  revoked?: (req: Request) => boolean;
}

/**
 * Identity at the hub's edge, after route resolution and before rate limiting and the proxy.
 *
 * - Client `X-User-*` headers are always removed: only the hub may set them.
 * - A valid bearer token sets `req.auth` and the `X-User-Id`/`X-User-Role` headers the spoke receives; the
 *   token itself is forwarded so the spoke verifies it too (it never trusts X-User-* alone).
 * - Private routes (and requests no spoke route was resolved for): a missing, malformed, invalid or expired
 *   token is a 401 from the hub, before any spoke is touched (the kit's `authenticate` decides which 401).
 * - A revoked token (logout, account deleted) is refused like an invalid one: 401 AUTH.TOKEN_REVOKED.
 * - Public routes pass without a token. A token that fails verification (or is revoked) there is dropped and the request
 *   goes on anonymously: a stale token left in a browser must not lock a user out of login, and the spoke
 *   never receives an Authorization header the hub has not verified.
 */
export function edgeAuth({ verifier, revoked = () => false }: EdgeAuthOptions): RequestHandler {
  const authenticated = authenticate(verifier);
  const verify: RequestHandler = (req, res, next) => authenticated(req, res, (error?: unknown) => {
    if (error === undefined && req.auth && revoked(req)) return next(tokenRevoked());
    next(error);
  });
  return (req, res, next) => {
    stripUserHeaders(req);
    const isPublic = req.hubRoute?.isPublic === true;
    if (isPublic && req.headers.authorization === undefined) return next();
    verify(req, res, (error?: unknown) => {
      if (error !== undefined) {
        // Only a verdict on the token may turn into "anonymous"; anything else is a fault to report.
        if (!isPublic || !isAppError(error)) return next(error);
        delete req.headers.authorization;
        req.auth = undefined;
        return next();
      }
      if (req.auth) {
        req.headers['x-user-id'] = req.auth.userId;
        req.headers['x-user-role'] = req.auth.role;
      }
      next();
    });
  };
}

function stripUserHeaders(req: Request): void {
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-user-')) delete req.headers[name];
  }
}
