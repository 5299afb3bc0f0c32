import { fileURLToPath } from 'node:url';
import type { AppContext, ServiceDefinition } from '@hubspoke/kit';
import { createApp } from './app.js';
import type { NotificationConfig } from './config.js';
import { sendTask } from './consumers/send-task.js';
import { accountEmailConsumer } from './consumers/account-email-consumer.js';
import { userDeletedConsumer } from './consumers/user-deleted-consumer.js';
import { userRegisteredConsumer } from './consumers/user-registered-consumer.js';
import { createContactService } from './domain/contact-service.js';
import { createNotificationService } from './domain/notification-service.js';
import { createProviders } from './domain/providers/providers.js';
import { createRateLimiter } from './domain/rate-limiter.js';
import { startSendWorker } from './domain/send-worker.js';
import { loadTemplates } from './domain/templates.js';

const TEMPLATES_DIR = fileURLToPath(new URL('../templates', import.meta.url));

/** Everything the kit needs to start the notification spoke; `main.ts` runs it, tests start it the same way. */
export function notificationService(config: NotificationConfig): ServiceDefinition<NotificationConfig, NotificationDomain> {
  return {
    name: 'notification',
    version: '0.1.0',
    config,
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
    registration: { routePrefix: 'notifications' },
    domain: async ({ db, logger, metrics, onStop }) => {
      const templates = loadTemplates(TEMPLATES_DIR);
      const providers = await createProviders(config, logger);
      // The worker's limiter guards the provider; a second one at the same rate paces hub jobs to match it.
      const worker = startSendWorker({ db, providers, limiter: createRateLimiter(config.rates), logger, registry: metrics.registry, settings: config.send });
      // Steps stop in reverse order: the worker finishes its provider calls before the SMTP pool closes.
      onStop('notification providers', async () => {
        for (const provider of Object.values(providers)) await provider.close?.();
      });
      onStop('send worker', () => worker.stop());
      return {
        notifications: createNotificationService({ db, templates, jobAdmission: createRateLimiter(config.rates), logger, wake: worker.wake }),
        contacts: createContactService({ db }),
      };
    },
    consumers: (context) => [userRegisteredConsumer(context), userDeletedConsumer(context), accountEmailConsumer(context)],
    tasks: (context) => [sendTask(context)],
    createApp,
  };
}

export type NotificationDomain = {
  notifications: ReturnType<typeof createNotificationService>;
  contacts: ReturnType<typeof createContactService>;
};
export type NotificationContext = AppContext<NotificationConfig, NotificationDomain>;
