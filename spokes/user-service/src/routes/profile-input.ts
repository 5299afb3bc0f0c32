import { pageQuery } from '@hubspoke/kit';
import { z } from 'zod';
import { PROFILE_LIMITS as LIMITS } from '../domain/profile.js';

// Fields that exist on a profile but belong to someone else: named as such when a client tries them.
const NOT_SETTABLE = new Set(['id', 'email', 'role', 'createdAt', 'updatedAt', 'deletedAt']);
const NO_CONTROL_CHARACTERS = /^[^\p{Cc}]*$/u;

const name = z.string().trim().min(1).max(LIMITS.nameLength).regex(NO_CONTROL_CHARACTERS, 'must not contain control characters');
const bio = z.string().max(LIMITS.bioLength)
  .refine((text) => NO_CONTROL_CHARACTERS.test(text.replace(/[\n\r\t]/g, '')), 'must not contain control characters other than line breaks and tabs');
// An object key in our (future) object store: plain path segments, no `..`, no leading slash.
const avatarKey = z.string().max(LIMITS.avatarKeyLength)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, 'must be an object key (letters, digits, . _ - and / between segments)')
  .refine((key) => !key.split('/').includes('..'), 'must not contain ".."');
// The body is parsed JSON, so every value already is one: only the keys and the total size are capped.
const jsonValue = z.unknown().meta({ description: 'Any JSON value' });
export const Preferences = z.record(z.string().min(1).max(LIMITS.preferenceKeyLength), jsonValue)
  .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= LIMITS.preferencesBytes, `must be at most ${LIMITS.preferencesBytes} bytes as JSON`);

/** PATCH /me: only the user's own fields, each capped, at least one of them; anything else is named in the 400. */
export const ProfileChangesBody = z.strictObject({
  name: name.optional(),
  bio: bio.nullable().optional(),
  avatarKey: avatarKey.nullable().optional(),
  preferences: Preferences.optional(),
}, { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) })
  .refine((changes) => Object.values(changes).some((value) => value !== undefined), 'must set at least one of name, bio, avatarKey, preferences');

export const unknownProfileKey = (key: string) => (NOT_SETTABLE.has(key) ? 'cannot be changed here' : 'is not a field you can set');

/** GET /: page size defaults to 20 and is capped at 100. */
export const PageQuery = pageQuery();

/** A malformed id is the client's mistake (400 USER.INVALID_ID), and never reaches the database. */
export const UserIdParams = z.object({ id: z.uuid().transform((id) => id.toLowerCase()) });
