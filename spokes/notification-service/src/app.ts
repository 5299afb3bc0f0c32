import type { Express } from 'express';
import { apiRoutes, createServiceApp } from '@hubspoke/kit';
import { itemRoutes } from './routes/item-routes.js';
import type { NotificationContext } from './service.js';

/** The notification spoke's HTTP app: built from its context, never listening by itself. */
export function createApp(context: NotificationContext): Express {
  const { config, domain, verifier } = context;
  return createServiceApp(context, {
    body: { limit: '16kb' },
    api: apiRoutes({
      title: 'notifications', version: '1', description: 'Items, owned by the user who created them',
      routes: itemRoutes({ items: domain.items }), verifier, validateResponses: config.validateResponses,
    }),
  });
}
