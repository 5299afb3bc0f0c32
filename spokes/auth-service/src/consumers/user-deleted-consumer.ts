import { UserDeletedV1 } from '@hubspoke/contracts';
import { parseEvent, type ConsumeOptions } from '@hubspoke/kit';
import { closeAccount } from '../domain/accounts.js';
import type { AuthContext } from '../service.js';

/**
 * `user.deleted` v1 from the user spoke: disables the credentials, revokes every token family, and at the
 * hub every access token of the user issued so far (a "not before" in Redis). The kit's consumer runs this
 * in a transaction with the dedupe record, so a redelivery changes nothing; with Redis down the handler
 * throws, the transaction rolls back and the message is retried; a malformed payload is dead-lettered at
 * once (no retry can fix it).
 */
export function userDeletedConsumer({ db, logger, domain }: Pick<AuthContext, 'db' | 'logger' | 'domain'>): ConsumeOptions {
  return {
    name: 'user-deleted',
    bindings: [UserDeletedV1.routingKey],
    db,
    async handler(envelope, tx) {
      const { userId } = parseEvent(UserDeletedV1, envelope);
      const result = await closeAccount(tx, userId);
      await domain.revocations.revokeUser(userId);
      logger.info({ userId, ...result }, 'credentials closed after user.deleted');
    },
  };
}
