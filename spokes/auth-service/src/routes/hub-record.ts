import { JWKS_PATH, type PublicRoute, type RouteLimit } from '@hubspoke/kit';

/** What the hub lets through without a token (paths after `/api/auth`). */
export const PUBLIC_ROUTES: PublicRoute[] = [
  { method: 'POST', path: '/register' },
  { method: 'POST', path: '/login' },
  { method: 'POST', path: '/refresh' },
  { method: 'POST', path: '/logout' },
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
];
