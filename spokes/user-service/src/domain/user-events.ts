import { createEnvelope, parsePayload, type Envelope } from '@hubspoke/kit';
import { z } from 'zod';
import { PROFILE_LIMITS, type KnownIdentity, type ProfileChanges } from './profile.js';

/** The envelope `source` of everything this spoke publishes. */
export const USER_EVENT_SOURCE = 'user';

export type UserUpdatedV1 = Envelope<'user.updated', { userId: string; changes: ProfileChanges }>;
export type UserDeletedV1 = Envelope<'user.deleted', { userId: string }>;

/** `changes` holds the fields the update set, with their new values. */
export const userUpdatedV1 = (userId: string, changes: ProfileChanges): UserUpdatedV1 =>
  createEnvelope({ source: USER_EVENT_SOURCE, type: 'user.updated', version: 1, payload: { userId, changes } });

export const userDeletedV1 = (userId: string): UserDeletedV1 =>
  createEnvelope({ source: USER_EVENT_SOURCE, type: 'user.deleted', version: 1, payload: { userId } });

// Published by the auth spoke. Not strict: a producer may add fields without a new version.
const UserRegisteredV1Payload = z.object({
  userId: z.uuid(),
  email: z.string().trim().min(1).max(PROFILE_LIMITS.emailLength),
  name: z.string().optional(),
  role: z.string().optional(),
});

/** Reads a user.registered v1 payload; one that is not can never succeed, so it is dead-lettered at once. */
export function readUserRegisteredV1(envelope: Envelope): KnownIdentity {
  const payload = parsePayload(UserRegisteredV1Payload, envelope);
  const name = payload.name?.trim();
  return { id: payload.userId, email: payload.email.toLowerCase(), ...(name ? { name: name.slice(0, PROFILE_LIMITS.nameLength) } : {}) };
}
