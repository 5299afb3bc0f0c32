import type { Role } from '@hubspoke/kit';

export interface Credential {
  userId: string;
  email: string;
  name: string;
  role: Role;
  passwordHash: string;
}

/** What clients and events see of an account: never the hash. */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export const toPublicUser = ({ userId, email, name, role }: Credential): PublicUser => ({ id: userId, email, name, role });
