import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/** A password login succeeded (auth spoke); refreshes are not logins. */
export const UserLoggedInV1 = defineEvent('user.logged_in', 1, z.object({ userId: z.uuid() }), { producer: 'auth', userFields: ['userId'] });

export type UserLoggedInV1Payload = z.output<typeof UserLoggedInV1.payload>;
