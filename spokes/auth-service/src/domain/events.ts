import { createEnvelope, type Envelope } from '@hubspoke/kit';
import type { PublicUser } from './user.js';

/** What this spoke publishes and reads on the `events` exchange. */
export const SOURCE = 'auth';

export type UserRegisteredV1 = Envelope<'user.registered', { userId: string; email: string; name: string; role: PublicUser['role'] }>;
export type UserLoggedInV1 = Envelope<'user.logged_in', { userId: string }>;

export const userRegistered = (user: PublicUser): UserRegisteredV1 =>
  createEnvelope({ source: SOURCE, type: 'user.registered', version: 1, payload: { userId: user.id, email: user.email, name: user.name, role: user.role } });

export const userLoggedIn = (userId: string): UserLoggedInV1 =>
  createEnvelope({ source: SOURCE, type: 'user.logged_in', version: 1, payload: { userId } });

/** Routing key of the event this spoke consumes (published by the user spoke). */
export const USER_DELETED_V1 = 'user.deleted.v1';
