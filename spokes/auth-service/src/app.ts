import type { Express } from 'express';
import { apiRoutes, createServiceApp } from '@hubspoke/kit';
import { accountRoutes } from './routes/account-routes.js';
import { authRoutes } from './routes/auth-routes.js';
import { jwksRoutes } from './routes/jwks-routes.js';
import type { AuthContext } from './service.js';

/** Builds the auth spoke's HTTP app from its context; no environment, no listening. */
export function createApp(context: AuthContext): Express {
  const { config, domain } = context;
  return createServiceApp(context, {
    body: { limit: '16kb', maxDepth: 4 },
    // The gateway and the hub each append to X-Forwarded-For; per-IP login limits must see the client.
    trustProxyHops: config.trustProxyHops,
    api: apiRoutes({
      title: 'auth', version: '1', description: 'Accounts, sessions and the keys that verify access tokens',
      routes: [...jwksRoutes(domain.keys), ...authRoutes(domain), ...accountRoutes(domain)],
      // Routes with a caller (a new verification link) verify this spoke's own tokens with its key ring.
      verifier: domain.verifier,
      validateResponses: config.validateResponses,
    }),
  });
}
