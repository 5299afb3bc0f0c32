import { z } from 'zod';
import { InvalidEnvelopeError, type Bus, type ConsumeOptions, type Logger, type Pool } from '@hubspoke/kit';
import { closeAccount } from '../domain/accounts.js';
import { USER_DELETED_V1 } from '../domain/events.js';

const UserDeletedV1 = z.object({ userId: z.uuid() });

/**
 * `user.deleted` v1 from the user spoke: disables the credentials and revokes every token family. The
 * kit's consumer runs this in a transaction with the dedupe record, so a redelivery changes nothing.
 */
export function consumeUserDeleted(
  bus: Pick<Bus, 'consume'>,
  { db, logger }: { db: Pool; logger: Logger },
  retries: Pick<ConsumeOptions, 'maxAttempts' | 'retryDelaysMs'> = {},
) {
  return bus.consume({
    ...retries,
    name: 'user-deleted',
    bindings: [USER_DELETED_V1],
    db,
    async handler(envelope, tx) {
      const payload = UserDeletedV1.safeParse(envelope.payload);
      // No retry can fix a malformed payload: straight to the dead-letter queue.
      if (!payload.success) throw new InvalidEnvelopeError(`user.deleted payload: ${z.prettifyError(payload.error)}`);
      const result = await closeAccount(tx, payload.data.userId);
      logger.info({ userId: payload.data.userId, ...result }, 'credentials closed after user.deleted');
    },
  });
}
