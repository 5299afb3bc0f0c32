import { UserDeletedV1 } from '@hubspoke/contracts';
import { parseEvent, type ConsumeOptions } from '@hubspoke/kit';
import type { NotificationContext } from '../service.js';

/**
 * `notification.user-deleted` (with the bus prefix), bound to the user spoke's user.deleted v1: erases the
 * user's contacts and notification history. The kit runs the handler in one transaction with the dedupe
 * record, so a redelivery changes nothing; a payload its contract refuses is dead-lettered at once.
 */
export function userDeletedConsumer({ db, domain }: Pick<NotificationContext, 'db' | 'domain'>): ConsumeOptions {
  return {
    name: 'user-deleted',
    bindings: [UserDeletedV1.routingKey],
    db,
    handler: (envelope, tx) => domain.notifications.eraseUser(tx, parseEvent(UserDeletedV1, envelope).userId),
  };
}
