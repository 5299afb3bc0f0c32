import type { Logger } from '@hubspoke/kit';
import type { Provider } from './provider.js';

/** The default for SMS and push until a real provider is configured: it sends nothing and logs that it would have. */
export function logProvider(logger: Logger): Provider {
  return {
    name: 'log',
    send({ notificationId, channel, subject }) {
      // No address or body in the log: they are personal data.
      logger.info({ notificationId, channel, subject }, 'notification delivered to the log provider');
      return Promise.resolve({ answer: 'logged' });
    },
  };
}
