import { UserRegisteredV1 } from '@hubspoke/contracts';
import { parseEvent, type ConsumeOptions } from '@hubspoke/kit';
import type { NotificationContext } from '../service.js';

/**
 * `notification.user-registered`, bound to the auth spoke's user.registered v1: keeps the account email as
 * the user's email contact and queues the welcome email keyed by the envelope id. The kit's dedupe record
 * stops a redelivery before the handler; the key stops it even after that record is pruned.
 */
export function userRegisteredConsumer({ db, domain }: Pick<NotificationContext, 'db' | 'domain'>): ConsumeOptions {
  return {
    name: 'user-registered',
    bindings: [UserRegisteredV1.routingKey],
    db,
    handler: (envelope, tx) => {
      const { userId, email, name } = parseEvent(UserRegisteredV1, envelope);
      return domain.notifications.welcome(tx, envelope.id, { userId, email, name });
    },
  };
}
