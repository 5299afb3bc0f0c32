import type { Role } from '@hubspoke/kit';

export interface Credential {
  userId: string;
  email: string;
  name: string;
  role: Role;
  passwordHash: string;
  /** The current email was proven by following a link sent to it. */
  emailVerified: boolean;
}

/** What clients and events see of an account: never the hash. */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  emailVerified: boolean;
}

export const toPublicUser = ({ userId, email, name, role, emailVerified }: Credential): PublicUser => ({ id: userId, email, name, role, emailVerified });
