import { createLogger, createStaticKeySource, createTokenVerifier, errorHandler, requestContext, type RouteLimit } from '@hubspoke/kit';
import { createTestKeys, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '@hubspoke/kit/testing';
import express, { type Express } from 'express';
import { edgeAuth } from '../src/edge/edge-auth.js';
import type { RateLimiter } from '../src/rate-limit/rate-limiter.js';
import type { HubRoute } from '../src/routing/hub-route.js';

/** Routes of a pretend auth and user spoke, as route resolution would describe them. */
export const LOGIN_LIMIT: RouteLimit = { method: 'POST', path: '/login', limit: 2, windowMs: 60_000 };
export const REGISTER_LIMIT: RouteLimit = { method: 'POST', path: '/register', limit: 2, windowMs: 60_000, onStoreDown: 'closed' };

function resolveStub(method: string, path: string): HubRoute | undefined {
  const [, , prefix, ...rest] = path.split('/');
  if (!prefix || path.startsWith('/api/hub/')) return undefined;
  const upstreamPath = `/${rest.join('/')}`;
  const service = prefix;
  const route = { service, prefix, upstreamPath, isPublic: false };
  if (prefix !== 'auth') return route;
  const routeLimit = [LOGIN_LIMIT, REGISTER_LIMIT].find((l) => l.method === method && l.path === upstreamPath);
  return { ...route, isPublic: true, ...(routeLimit ? { routeLimit } : {}) };
}

export interface EdgePipeline {
  app: Express;
  keys: TestKeys;
  /** How many requests reached the stand-in spoke. */
  spokeCalls: () => number;
}

/**
 * The hub's pipeline without the proxy: request context, a stub route resolution (`/api/auth/*` public,
 * login/register with route limits, everything else private), an optional rate limiter around edge auth, and a
 * final handler that echoes what a spoke would receive.
 */
export async function edgePipeline({ limiter, keys }: { limiter?: RateLimiter; keys?: TestKeys } = {}): Promise<EdgePipeline> {
  const testKeys = keys ?? (await createTestKeys());
  const verifier = createTokenVerifier({ keys: createStaticKeySource(testKeys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  let calls = 0;
  const app = express();
  app.use(requestContext());
  app.use((req, _res, next) => {
    req.hubRoute = resolveStub(req.method, req.path);
    next();
  });
  if (limiter) app.use(limiter.beforeAuth);
  app.use(edgeAuth({ verifier, ...(limiter ? { revoked: limiter.revoked } : {}) }));
  if (limiter) app.use(limiter.afterAuth);
  app.use((req, res) => {
    calls++;
    res.json({ headers: req.headers, auth: req.auth ?? null });
  });
  app.use(errorHandler(createLogger({ service: 'hub-test', level: 'silent' })));
  return { app, keys: testKeys, spokeCalls: () => calls };
}
