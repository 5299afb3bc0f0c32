import { parsePayload, type ConsumeOptions } from '@hubspoke/kit';
import { z } from 'zod';
import type { {{Pascal}}Context } from '../service.js';

// Published by the user spoke. Not strict: a producer may add fields without a new version.
const UserDeletedV1 = z.object({ userId: z.string().min(1).max(200) });

/**
 * `{{name}}.user-deleted` (with the bus prefix), bound to the user spoke's user.deleted v1: deletes that
 * user's items. The kit runs the handler in one transaction with the dedupe record, so a redelivery
 * changes nothing; a malformed payload is dead-lettered at once (no retry can fix it).
 */
export function userDeletedConsumer({ db, domain }: Pick<{{Pascal}}Context, 'db' | 'domain'>): ConsumeOptions {
  return {
    name: 'user-deleted',
    bindings: ['user.deleted.v1'],
    db,
    handler: (envelope, tx) => domain.items.removeAllOf(tx, parsePayload(UserDeletedV1, envelope).userId),
  };
}
