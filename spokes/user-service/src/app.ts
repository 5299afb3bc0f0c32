import express, { type Express } from 'express';
import {
  errorHandler, healthRoutes, jsonBody, notFoundHandler, outboxServiceChecks, requestContext,
  type Bus, type Lifecycle, type Logger, type Metrics, type Pool, type TokenVerifier,
} from '@hubspoke/kit';
import type { ProfileService } from './domain/profile-service.js';
import { userRoutes } from './routes/user-routes.js';

export interface UserAppDeps {
  db: Pool;
  /** Only its connection state is read here (readiness); events leave through the outbox. */
  bus: Pick<Bus, 'isConnected'>;
  profiles: ProfileService;
  verifier: TokenVerifier;
  logger: Logger;
  metrics: Metrics;
  lifecycle: Pick<Lifecycle, 'isDraining'>;
}

/** The user spoke's HTTP app: built from its dependencies, never listening by itself. */
export function createApp({ db, bus, profiles, verifier, logger, metrics, lifecycle }: UserAppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext({ isDraining: lifecycle.isDraining }), metrics.httpMiddleware, jsonBody({ limit: '16kb' }));
  app.use(healthRoutes({
    isDraining: lifecycle.isDraining,
    checks: outboxServiceChecks(db, bus),
  }));
  app.use(metrics.route);
  app.use(userRoutes({ profiles, verifier }));
  app.use(notFoundHandler(), errorHandler(logger));
  return app;
}
