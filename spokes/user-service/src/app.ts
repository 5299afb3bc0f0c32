import type { Express } from 'express';
import { apiRoutes, createServiceApp } from '@hubspoke/kit';
import { userRoutes } from './routes/user-routes.js';
import type { UserContext } from './service.js';

/** The user spoke's HTTP app: built from its context, never listening by itself. */
export function createApp(context: UserContext): Express {
  const { config, domain, verifier } = context;
  return createServiceApp(context, {
    body: { limit: '16kb' },
    api: apiRoutes({
      title: 'users', version: '1', description: 'Profiles of the platform\'s users',
      routes: userRoutes({ profiles: domain.profiles }), verifier, validateResponses: config.validateResponses,
    }),
  });
}
