import type { Request, RequestHandler } from 'express';
import { forbidden } from '../errors.js';
import { tokenInvalid, tokenMissing } from './auth-errors.js';
import type { Role } from './token-contract.js';
import type { TokenVerifier } from './token-verifier.js';

/**
 * Who made the request, as proven by the bearer token: the verified claims, never decoded again.
 * `token` is kept to forward it unchanged.
 */
export interface RequestAuth {
  userId: string;
  role: Role;
  /** Whether the account's email is verified (the token's `email_verified` claim). */
  emailVerified: boolean;
  /** `jti` and `iat` (unix seconds), for revocation checks. */
  tokenId: string;
  issuedAt: number;
  /** Profile claims the auth spoke puts in the token, when it does. */
  email?: string;
  name?: string;
  token: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `authenticate` once the bearer token is verified. */
    auth?: RequestAuth;
  }
}

export interface AuthenticateOptions {
  /** Let requests without an Authorization header through anonymously; a bad token is still a 401. */
  optional?: boolean;
}

// RFC 6750 b64token after a case-insensitive scheme.
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

/**
 * Verifies the bearer token itself and sets `req.auth`. X-User-* headers are never read: the hub sets
 * them for convenience, but anything that reaches a spoke directly could forge them.
 */
export function authenticate(verifier: TokenVerifier, { optional = false }: AuthenticateOptions = {}): RequestHandler {
  return (req, _res, next) => {
    const header = req.headers.authorization;
    if (header === undefined) return optional ? next() : next(tokenMissing());
    const token = BEARER.exec(header)?.[1];
    if (!token) return next(tokenInvalid(new Error('malformed Authorization header')));
    verifier.verify(token).then(({ userId, role, emailVerified, tokenId, issuedAt, email, name }) => {
      req.auth = { userId, role, emailVerified, tokenId, issuedAt, token, ...(email === undefined ? {} : { email }), ...(name === undefined ? {} : { name }) };
      next();
    }, next);
  };
}

export function requireRole(role: Role): RequestHandler {
  return (req, _res, next) => {
    if (!req.auth) return next(tokenMissing());
    next(req.auth.role === role ? undefined : forbidden());
  };
}

/** The verified caller of a route behind `authenticate`; a 401 if there is none. */
export function requireAuth(req: Request): RequestAuth {
  if (!req.auth) throw tokenMissing();
  return req.auth;
}

/** For "a user reads and changes only their own data unless admin". */
export function assertSelfOrAdmin(auth: RequestAuth | undefined, ownerId: string): asserts auth is RequestAuth {
  if (!auth) throw tokenMissing();
  if (auth.userId !== ownerId && auth.role !== 'admin') throw forbidden();
}
