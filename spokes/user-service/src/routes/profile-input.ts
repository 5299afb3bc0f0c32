import { parseInput, validationFailed } from '@hubspoke/kit';
import { z } from 'zod';
import { PROFILE_LIMITS as LIMITS, type ProfileChanges } from '../domain/profile.js';
import { invalidUserId } from '../domain/user-errors.js';

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
const preferences = z.record(z.string().min(1).max(LIMITS.preferenceKeyLength), z.json())
  .refine((value) => Buffer.byteLength(JSON.stringify(value)) <= LIMITS.preferencesBytes, `must be at most ${LIMITS.preferencesBytes} bytes as JSON`);

const ProfileChangesSchema = z.strictObject({
  name: name.optional(),
  bio: bio.nullable().optional(),
  avatarKey: avatarKey.nullable().optional(),
  preferences: preferences.optional(),
});

const PageQuery = z.object({
  cursor: z.string().min(1).max(200).optional(),
  limit: z.string().regex(/^\d{1,6}$/, 'must be a positive integer').transform(Number).pipe(z.number().int().min(1)).optional(),
});

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** PATCH /me: only the user's own fields, each capped; anything else is named in the 400. */
export function parseProfileChanges(body: unknown): ProfileChanges {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validationFailed([{ field: 'body', problem: 'must be a JSON object' }]);
  const parsed = parseInput(ProfileChangesSchema, body, { unknownKey: (key) => (NOT_SETTABLE.has(key) ? 'cannot be changed here' : 'is not a field you can set') });
  const changes = Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)) as unknown as ProfileChanges;
  if (Object.keys(changes).length === 0) throw validationFailed([{ field: 'body', problem: 'must set at least one of name, bio, avatarKey, preferences' }]);
  return changes;
}

/** GET /: page size defaults to 20 and is capped at 100. */
export function parsePageQuery(query: unknown): { cursor?: string; limit: number } {
  const parsed = parseInput(PageQuery, query);
  return { cursor: parsed.cursor, limit: Math.min(parsed.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) };
}

const UUID = z.uuid();

/** A malformed id is the client's mistake (400), and never reaches the database. */
export function parseUserId(value: unknown): string {
  const parsed = UUID.safeParse(value);
  if (!parsed.success) throw invalidUserId();
  return parsed.data.toLowerCase();
}
