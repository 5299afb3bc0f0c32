import { fileURLToPath } from 'node:url';
import type { AppContext, ServiceDefinition } from '@hubspoke/kit';
import { createApp } from './app.js';
import type { NotificationConfig } from './config.js';
import { userDeletedConsumer } from './consumers/user-deleted-consumer.js';
import { createItemService } from './domain/item-service.js';

/** Everything the kit needs to start the notification spoke; `main.ts` runs it, tests start it the same way. */
export function notificationService(config: NotificationConfig): ServiceDefinition<NotificationConfig, NotificationDomain> {
  return {
    name: 'notification',
    version: '0.1.0',
    config,
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
    // publicRoutes, when there are any: exactly the routes marked `public: true` (the API contract test checks).
    registration: { routePrefix: 'notifications' },
    domain: ({ db, logger }) => ({ items: createItemService({ db, logger }) }),
    consumers: (context) => [userDeletedConsumer(context)],
    createApp,
  };
}

export type NotificationDomain = { items: ReturnType<typeof createItemService> };
export type NotificationContext = AppContext<NotificationConfig, NotificationDomain>;
