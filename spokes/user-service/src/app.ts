import type { Express } from 'express';
import { createServiceApp } from '@hubspoke/kit';
import { userRoutes } from './routes/user-routes.js';
import type { UserContext } from './service.js';

/** The user spoke's HTTP app: built from its context, never listening by itself. */
export function createApp(context: UserContext): Express {
  const { domain, verifier } = context;
  return createServiceApp(context, {
    body: { limit: '16kb' },
    routes: (app) => app.use(userRoutes({ profiles: domain.profiles, verifier })),
  });
}
