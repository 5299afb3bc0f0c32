import { SendAccountEmailV1, UserLoggedInV1, UserRegisteredV1 } from '@hubspoke/contracts';
import { createEvent, enqueue, type Queryable } from '@hubspoke/kit';
import type { z } from 'zod';
import type { PublicUser } from './user.js';

/** The envelope `source` of everything this spoke publishes; the shapes are in @hubspoke/contracts. */
export const SOURCE = 'auth';

export const userRegistered = (user: PublicUser) =>
  createEvent(UserRegisteredV1, SOURCE, { userId: user.id, email: user.email, name: user.name, role: user.role });

export const userLoggedIn = (userId: string) => createEvent(UserLoggedInV1, SOURCE, { userId });

/**
 * Asks the notification spoke, in the caller's transaction, to email the account's owner: a command on the
 * tasks exchange (no events subscriber sees its link), and its outbox row is deleted once relayed.
 */
export async function enqueueAccountEmail(tx: Queryable, payload: z.input<typeof SendAccountEmailV1.payload>): Promise<void> {
  await enqueue(tx, createEvent(SendAccountEmailV1, SOURCE, payload), { exchange: SendAccountEmailV1.exchange, deleteWhenSent: true });
}
