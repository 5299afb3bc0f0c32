import { UserDeletedV1 } from '@hubspoke/contracts';
import { parseEvent, type ConsumeOptions } from '@hubspoke/kit';
import { closeAccount } from '../domain/accounts.js';
import type { AuthContext } from '../service.js';

/**
 * `user.deleted` v1 from the user spoke: disables the credentials and revokes every token family. The
 * kit's consumer runs this in a transaction with the dedupe record, so a redelivery changes nothing; a
 * malformed payload is dead-lettered at once (no retry can fix it).
 */
export function userDeletedConsumer({ db, logger }: Pick<AuthContext, 'db' | 'logger'>): ConsumeOptions {
  return {
    name: 'user-deleted',
    bindings: [UserDeletedV1.routingKey],
    db,
    async handler(envelope, tx) {
      const { userId } = parseEvent(UserDeletedV1, envelope);
      const result = await closeAccount(tx, userId);
      logger.info({ userId, ...result }, 'credentials closed after user.deleted');
    },
  };
}
