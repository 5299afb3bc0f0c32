import { SendAccountEmailV1 } from '@hubspoke/contracts';
import { parseEvent, type ConsumeOptions } from '@hubspoke/kit';
import type { NotificationContext } from '../service.js';

/**
 * `notification.account-email`, bound on the tasks exchange to the auth spoke's
 * `notification.send_account_email` v1 command: queues the account email, keyed by the command id. The
 * command carries a one-time link, which is why it is a command on its own queue and not an event.
 */
export function accountEmailConsumer({ db, domain }: Pick<NotificationContext, 'db' | 'domain'>): ConsumeOptions {
  return {
    name: 'account-email',
    exchange: SendAccountEmailV1.exchange,
    bindings: [SendAccountEmailV1.routingKey],
    db,
    handler: (envelope, tx) => domain.notifications.accountEmail(tx, envelope.id, parseEvent(SendAccountEmailV1, envelope)),
  };
}
