import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/** A profile was deleted (user spoke): every service forgets or disables what it holds for the user. */
export const UserDeletedV1 = defineEvent('user.deleted', 1, z.object({ userId: z.uuid() }), { producer: 'user', userFields: ['userId'] });

export type UserDeletedV1Payload = z.output<typeof UserDeletedV1.payload>;
