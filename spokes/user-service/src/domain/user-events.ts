import { UserDeletedV1, UserRegisteredV1, UserUpdatedV1 } from '@hubspoke/contracts';
import { createEvent, parseEvent, type Envelope } from '@hubspoke/kit';
import { PROFILE_LIMITS, type KnownIdentity, type ProfileChanges } from './profile.js';

/** The envelope `source` of everything this spoke publishes; the shapes are in @hubspoke/contracts. */
export const USER_EVENT_SOURCE = 'user';

/** `changes` holds the fields the update set, with their new values. */
export const userUpdatedV1 = (userId: string, changes: ProfileChanges) => createEvent(UserUpdatedV1, USER_EVENT_SOURCE, { userId, changes });

export const userDeletedV1 = (userId: string) => createEvent(UserDeletedV1, USER_EVENT_SOURCE, { userId });

/** Reads a user.registered v1 payload with its contract; one that does not match is dead-lettered at once. */
export function readUserRegisteredV1(envelope: Envelope): KnownIdentity {
  const payload = parseEvent(UserRegisteredV1, envelope);
  const name = payload.name.trim();
  return { id: payload.userId, email: payload.email.toLowerCase(), ...(name ? { name: name.slice(0, PROFILE_LIMITS.nameLength) } : {}) };
}
