import { UserLoggedInV1, UserRegisteredV1 } from '@hubspoke/contracts';
import { createEvent } from '@hubspoke/kit';
import type { PublicUser } from './user.js';

/** The envelope `source` of everything this spoke publishes; the shapes are in @hubspoke/contracts. */
export const SOURCE = 'auth';

export const userRegistered = (user: PublicUser) =>
  createEvent(UserRegisteredV1, SOURCE, { userId: user.id, email: user.email, name: user.name, role: user.role });

export const userLoggedIn = (userId: string) => createEvent(UserLoggedInV1, SOURCE, { userId });
