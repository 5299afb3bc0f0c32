import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/** A user changed their profile (user spoke): `changes` holds exactly the fields set, with their new values. */
export const UserUpdatedV1 = defineEvent('user.updated', 1, z.object({
  userId: z.uuid(),
  changes: z.object({
    name: z.string().optional(),
    bio: z.string().nullable().optional(),
    avatarKey: z.string().nullable().optional(),
    /** Replaces the whole object. */
    preferences: z.record(z.string(), z.json()).optional(),
  }),
}), { producer: 'user', userFields: ['userId'] });

export type UserUpdatedV1Payload = z.output<typeof UserUpdatedV1.payload>;
