import { parsePayload, type ConsumeOptions } from '@hubspoke/kit';
import { z } from 'zod';
import { closeAccount } from '../domain/accounts.js';
import { USER_DELETED_V1 } from '../domain/events.js';
import type { AuthContext } from '../service.js';

const UserDeletedV1 = z.object({ userId: z.uuid() });

/**
 * `user.deleted` v1 from the user spoke: disables the credentials and revokes every token family. The
 * kit's consumer runs this in a transaction with the dedupe record, so a redelivery changes nothing; a
 * malformed payload is dead-lettered at once (no retry can fix it).
 */
export function userDeletedConsumer({ db, logger }: Pick<AuthContext, 'db' | 'logger'>): ConsumeOptions {
  return {
    name: 'user-deleted',
    bindings: [USER_DELETED_V1],
    db,
    async handler(envelope, tx) {
      const { userId } = parsePayload(UserDeletedV1, envelope);
      const result = await closeAccount(tx, userId);
      logger.info({ userId, ...result }, 'credentials closed after user.deleted');
    },
  };
}
