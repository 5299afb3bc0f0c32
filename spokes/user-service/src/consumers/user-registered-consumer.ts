import type { ConsumeOptions, Pool } from '@hubspoke/kit';
import type { ProfileService } from '../domain/profile-service.js';
import { readUserRegisteredV1 } from '../domain/user-events.js';

/** The queue `user.user-registered` (with the bus prefix), bound to the auth spoke's user.registered v1. */
export const USER_REGISTERED_QUEUE = { name: 'user-registered', bindings: ['user.registered.v1'] };

/**
 * Creates (or completes) the profile. The kit runs the handler in one transaction with the dedupe
 * record, so a redelivered event is acked without running again; a re-published one (new id) finds
 * the profile and changes nothing.
 */
export function userRegisteredConsumer({ db, profiles }: { db: Pool; profiles: ProfileService }): ConsumeOptions {
  return {
    ...USER_REGISTERED_QUEUE,
    db,
    handler: (envelope, tx) => profiles.recordRegistration(tx, readUserRegisteredV1(envelope.payload)),
  };
}
