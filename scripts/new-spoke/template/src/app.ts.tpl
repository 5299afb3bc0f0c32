import type { Express } from 'express';
import { createServiceApp } from '@hubspoke/kit';
import { itemRoutes } from './routes/item-routes.js';
import type { {{Pascal}}Context } from './service.js';

/** The {{name}} spoke's HTTP app: built from its context, never listening by itself. */
export function createApp(context: {{Pascal}}Context): Express {
  const { domain, verifier } = context;
  return createServiceApp(context, {
    body: { limit: '16kb' },
    routes: (app) => app.use(itemRoutes({ items: domain.items, verifier })),
  });
}
