import { UserRegisteredV1 } from '@hubspoke/contracts';
import type { ConsumeOptions } from '@hubspoke/kit';
import { readUserRegisteredV1 } from '../domain/user-events.js';
import type { UserContext } from '../service.js';

/** The queue `user.user-registered` (with the bus prefix), bound to the auth spoke's user.registered v1. */
export const USER_REGISTERED_QUEUE = { name: 'user-registered', bindings: [UserRegisteredV1.routingKey] };

/**
 * `user.user-registered` (with the bus prefix), bound to the auth spoke's user.registered v1: creates
 * (or completes) the profile. The kit runs the handler in one transaction with the dedupe record, so a
 * redelivered event is acked without running again; a re-published one (new id) finds the profile and
 * changes nothing.
 */
export function userRegisteredConsumer({ db, domain }: Pick<UserContext, 'db' | 'domain'>): ConsumeOptions {
  return {
    ...USER_REGISTERED_QUEUE,
    db,
    handler: (envelope, tx) => domain.profiles.recordRegistration(tx, readUserRegisteredV1(envelope)),
  };
}
