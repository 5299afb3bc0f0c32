import { tokenInvalid, tokenMissing, type AuthUser } from '@hubspoke/kit';
import type { Request } from 'express';
import { z } from 'zod';
import { PROFILE_LIMITS, type Actor, type KnownIdentity } from '../domain/profile.js';

const Subject = z.uuid();
const Email = z.email().max(PROFILE_LIMITS.emailLength);
const Name = z.string().trim().min(1).max(PROFILE_LIMITS.nameLength).regex(/^[^\p{Cc}]*$/u);

/** Who is asking, from the token `authenticate` verified (never from X-User-* headers). */
export function actorOf(req: Request): Actor & { identity: KnownIdentity } {
  const user = req.user;
  if (!user) throw tokenMissing();
  // Profiles are keyed by the auth spoke's user ids, which are UUIDs: anything else is not one of its tokens.
  const id = Subject.safeParse(user.id);
  if (!id.success) throw tokenInvalid(new Error('sub is not a UUID'));
  const userId = id.data.toLowerCase();
  return { id: userId, role: user.role, identity: { id: userId, ...optionalClaims(user) } };
}

/**
 * email and name claims, when the token carries usable ones: they seed a profile made before the
 * user.registered event. The token is verified already, so reading its payload is safe.
 */
function optionalClaims(user: AuthUser): Omit<KnownIdentity, 'id'> {
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(user.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
  const email = Email.safeParse(claims.email);
  const name = Name.safeParse(claims.name);
  return { ...(email.success ? { email: email.data.toLowerCase() } : {}), ...(name.success ? { name: name.data } : {}) };
}
