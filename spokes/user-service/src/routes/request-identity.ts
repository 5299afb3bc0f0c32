import { requireAuth, tokenInvalid, type RequestAuth } from '@hubspoke/kit';
import type { Request } from 'express';
import { z } from 'zod';
import { PROFILE_LIMITS, type Actor, type KnownIdentity } from '../domain/profile.js';

const Subject = z.uuid();
const Email = z.email().max(PROFILE_LIMITS.emailLength);
const Name = z.string().trim().min(1).max(PROFILE_LIMITS.nameLength).regex(/^[^\p{Cc}]*$/u);

/** Who is asking, from the claims `authenticate` verified (never from X-User-* headers). */
export function actorOf(req: Request): Actor & { identity: KnownIdentity } {
  const auth = requireAuth(req);
  // Profiles are keyed by the auth spoke's user ids, which are UUIDs: anything else is not one of its tokens.
  const id = Subject.safeParse(auth.userId);
  if (!id.success) throw tokenInvalid(new Error('sub is not a UUID'));
  const userId = id.data.toLowerCase();
  return { id: userId, role: auth.role, identity: { id: userId, ...profileClaims(auth) } };
}

/** email and name claims, when the token carries usable ones: they seed a profile made before the user.registered event. */
function profileClaims({ email, name }: RequestAuth): Omit<KnownIdentity, 'id'> {
  const validEmail = Email.safeParse(email);
  const validName = Name.safeParse(name);
  return { ...(validEmail.success ? { email: validEmail.data.toLowerCase() } : {}), ...(validName.success ? { name: validName.data } : {}) };
}
