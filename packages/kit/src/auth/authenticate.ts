import type { RequestHandler } from 'express';
import { forbidden } from '../errors.js';
import { tokenInvalid, tokenMissing } from './auth-errors.js';
import type { Role } from './token-contract.js';
import type { TokenVerifier } from './token-verifier.js';

/** Who made the request, as proven by the bearer token; `token` is kept to forward it unchanged. */
export interface AuthUser {
  id: string;
  role: Role;
  token: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    user?: AuthUser;
  }
}

export interface AuthenticateOptions {
  /** Let requests without an Authorization header through anonymously; a bad token is still a 401. */
  optional?: boolean;
}

// RFC 6750 b64token after a case-insensitive scheme.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Verifies the bearer token itself and sets `req.user`. X-User-* headers are never read: the hub sets
 * them for convenience, but anything that reaches a spoke directly could forge them.
 */
export function authenticate(verifier: TokenVerifier, { optional = false }: AuthenticateOptions = {}): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.authorization;
    if (header === undefined) return optional ? next() : next(tokenMissing());
    const token = BEARER.exec(header)?.[1];
    if (!token) return next(tokenInvalid(new Error('malformed Authorization header')));
    verifier.verify(token).then(({ userId, role }) => {
      req.user = { id: userId, role, token };
      next();
    }, next);
  };
}

export function requireRole(role: Role): RequestHandler {
  return (req, _res, next) => {
    if (!req.user) return next(tokenMissing());
    next(req.user.role === role ? undefined : forbidden());
  };
}

/** For "a user reads and changes only their own data unless admin" (DESIGN.md §5). */
export function assertSelfOrAdmin(user: AuthUser | undefined, ownerId: string): asserts user is AuthUser {
  if (!user) throw tokenMissing();
  if (user.id !== ownerId && user.role !== 'admin') throw forbidden();
}
