import { JWKS_PATH, type PublicRoute, type RouteLimit } from '@hubspoke/kit';

/** What the hub lets through without a token (paths after `/api/auth`). */
export const PUBLIC_ROUTES: PublicRoute[] = [
  { method: 'POST', path: '/register' },
  { method: 'POST', path: '/login' },
  { method: 'POST', path: '/refresh' },
  { method: 'POST', path: '/logout' },
  { method: 'POST', path: '/email/verify' },
  { method: 'POST', path: '/password/forgot' },
  { method: 'POST', path: '/password/reset' },
  { method: 'GET', path: JWKS_PATH },
];

/**
 * Per-IP limits the hub applies before a request costs an argon2 hash here. Login fails closed when the
 * hub's limit store is down (password guessing must never be unlimited); this spoke's own per-account
 * and per-IP failure throttle still applies behind it.
 */
export const ROUTE_LIMITS: RouteLimit[] = [
  { method: 'POST', path: '/login', limit: 10, windowMs: 60_000, onStoreDown: 'closed' },
  { method: 'POST', path: '/register', limit: 5, windowMs: 60_000, onStoreDown: 'open' },
  { method: 'POST', path: '/refresh', limit: 60, windowMs: 60_000, onStoreDown: 'open' },
  // Each queues an email or costs an argon2 hash; the spoke also allows one link per account per ACCOUNT_EMAIL_INTERVAL.
  { method: 'POST', path: '/password/forgot', limit: 5, windowMs: 60_000, onStoreDown: 'open' },
  { method: 'POST', path: '/password/reset', limit: 10, windowMs: 60_000, onStoreDown: 'open' },
  { method: 'POST', path: '/email/verify', limit: 10, windowMs: 60_000, onStoreDown: 'open' },
  { method: 'POST', path: '/email/verify/request', limit: 5, windowMs: 60_000, onStoreDown: 'open' },
];
