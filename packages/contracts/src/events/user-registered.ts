import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/** An account was created (auth spoke). email is normalized (trimmed, lower-case) by the producer. */
export const UserRegisteredV1 = defineEvent('user.registered', 1, z.object({
  userId: z.uuid(),
  email: z.email().max(254),
  name: z.string().min(1).max(100),
  role: z.enum(['user', 'admin']),
}), { producer: 'auth', userFields: ['userId'] });

export type UserRegisteredV1Payload = z.output<typeof UserRegisteredV1.payload>;
