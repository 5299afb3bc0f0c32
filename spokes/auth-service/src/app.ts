import express, { type Express } from 'express';
import {
  errorHandler, healthRoutes, jsonBody, notFoundHandler, outboxServiceChecks, requestContext, type Bus, type Lifecycle, type Logger, type Metrics, type Pool,
} from '@hubspoke/kit';
import type { AuthConfig } from './config.js';
import { createAuthDomain } from './domain/auth-domain.js';
import type { PasswordHasher } from './domain/passwords.js';
import type { KeyRing } from './domain/signing-keys.js';
import { authRoutes } from './routes/auth-routes.js';
import { jwksRoutes } from './routes/jwks-routes.js';

export interface AuthAppDeps {
  config: Pick<AuthConfig, 'tokens' | 'throttle' | 'trustProxyHops'>;
  db: Pool;
  bus: Pick<Bus, 'isConnected'>;
  keys: KeyRing;
  passwords: PasswordHasher;
  logger: Logger;
  metrics: Metrics;
  lifecycle: Pick<Lifecycle, 'isDraining'>;
}

/** Builds the auth spoke's HTTP app from its dependencies; no environment, no listening. */
export function createApp({ config, db, bus, keys, passwords, logger, metrics, lifecycle }: AuthAppDeps): Express {
  const { accounts, sessions } = createAuthDomain({ config, db, keys, passwords, logger });
  const app = express();
  app.disable('x-powered-by');
  // The gateway and the hub each append to X-Forwarded-For; per-IP login limits must see the client.
  app.set('trust proxy', config.trustProxyHops);
  app.use(requestContext({ isDraining: lifecycle.isDraining }), metrics.httpMiddleware, jsonBody({ limit: '16kb', maxDepth: 4 }));
  app.use(healthRoutes({
    isDraining: lifecycle.isDraining,
    checks: outboxServiceChecks(db, bus),
  }));
  app.use(metrics.route);
  app.use(jwksRoutes(keys));
  app.use(authRoutes({ accounts, sessions }));
  app.use(notFoundHandler(), errorHandler(logger));
  return app;
}
