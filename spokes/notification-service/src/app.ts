import type { Express } from 'express';
import { apiRoutes, createServiceApp } from '@hubspoke/kit';
import { contactRoutes } from './routes/contact-routes.js';
import { notificationRoutes } from './routes/notification-routes.js';
import type { NotificationContext } from './service.js';

/** The notification spoke's HTTP app: built from its context, never listening by itself. */
export function createApp(context: NotificationContext): Express {
  const { config, domain, verifier } = context;
  return createServiceApp(context, {
    body: { limit: '16kb' },
    api: apiRoutes({
      title: 'notifications', version: '1', description: 'Email, SMS and push notifications, sent once from a durable queue',
      // /contacts before /:id, so "contacts" is never read as an id.
      routes: [...contactRoutes({ contacts: domain.contacts }), ...notificationRoutes({ notifications: domain.notifications })],
      verifier, validateResponses: config.validateResponses,
    }),
  });
}
