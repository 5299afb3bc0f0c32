import { preparedStatement, type PagePosition, type Queryable } from '@hubspoke/kit';
import type { KnownIdentity, Preferences, Profile, ProfileChanges } from '../domain/profile.js';

/** A profile as stored: the API view plus what only the service needs (deletion, page position). */
export interface StoredProfile {
  profile: Profile;
  deleted: boolean;
  position: PagePosition;
}

/** How a user.registered event landed: a new profile, blanks filled in an existing one, or nothing to do. */
export type RegistrationOutcome = 'created' | 'completed' | 'unchanged';

interface ProfileRow {
  id: string;
  email: string | null;
  name: string | null;
  bio: string | null;
  avatar_key: string | null;
  preferences: Preferences;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
  created_at_us: string;
}

const COLUMNS = `id, email, name, bio, avatar_key, preferences, created_at, updated_at, deleted_at,
  (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_at_us`;

// Every authenticated request reads its caller's profile: parsed and planned once per connection.
const findProfileById = preparedStatement<ProfileRow>('user-profile-by-id', `SELECT ${COLUMNS} FROM profiles WHERE id = $1`);

// The only columns an update may name, keyed by the API field: identifiers never come from input.
const UPDATABLE: Record<keyof ProfileChanges, string> = { name: 'name', bio: 'bio', avatarKey: 'avatar_key', preferences: 'preferences' };

export function createProfileRepository(db: Queryable) {
  return {
    async findById(id: string): Promise<StoredProfile | null> {
      const { rows } = await findProfileById(db, [id]);
      return rows[0] ? toStored(rows[0]) : null;
    },

    /** True when this call created the profile; false when it already existed (live or deleted). */
    async insertIfAbsent({ id, email, name }: KnownIdentity): Promise<boolean> {
      const { rowCount } = await db.query(
        'INSERT INTO profiles (id, email, name) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [id, email ?? null, name ?? null]);
      return rowCount === 1;
    },

    /**
     * Creates the profile, or fills the blanks a token-made profile left (email, name) without
     * overwriting anything already there — a name the user set stays. A deleted profile is left alone.
     */
    async recordRegistration({ id, email, name }: KnownIdentity): Promise<RegistrationOutcome> {
      const { rows } = await db.query<{ inserted: boolean }>(
        `INSERT INTO profiles AS p (id, email, name) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET email = COALESCE(p.email, EXCLUDED.email), name = COALESCE(p.name, EXCLUDED.name)
           WHERE p.deleted_at IS NULL
             AND ((p.email IS NULL AND EXCLUDED.email IS NOT NULL) OR (p.name IS NULL AND EXCLUDED.name IS NOT NULL))
         RETURNING (xmax = 0) AS inserted`,
        [id, email ?? null, name ?? null]);
      if (!rows[0]) return 'unchanged';
      return rows[0].inserted ? 'created' : 'completed';
    },

    /** Null when there is no live profile with this id. */
    async update(id: string, changes: ProfileChanges): Promise<StoredProfile | null> {
      const fields = (Object.keys(UPDATABLE) as (keyof ProfileChanges)[]).filter((field) => changes[field] !== undefined);
      const values = fields.map((field) => (field === 'preferences' ? JSON.stringify(changes.preferences) : changes[field]));
      const assignments = fields.map((field, i) => `${UPDATABLE[field]} = $${i + 2}`);
      const { rows } = await db.query<ProfileRow>(
        `UPDATE profiles SET ${[...assignments, 'updated_at = now()'].join(', ')}
         WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`, [id, ...values]);
      return rows[0] ? toStored(rows[0]) : null;
    },

    /** True when a live profile was deleted now; false when there was none (or it was already deleted). */
    async softDelete(id: string): Promise<boolean> {
      const { rowCount } = await db.query('UPDATE profiles SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL', [id]);
      return rowCount === 1;
    },

    /** Live profiles in (created_at, id) order, strictly after `after` when given. */
    async listLive({ after, limit }: { after?: PagePosition; limit: number }): Promise<StoredProfile[]> {
      const { rows } = after
        ? await db.query<ProfileRow>(
          `SELECT ${COLUMNS} FROM profiles
           WHERE deleted_at IS NULL AND (created_at, id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::uuid)
           ORDER BY created_at, id LIMIT $3`, [after.atMicros, after.id, limit])
        : await db.query<ProfileRow>(`SELECT ${COLUMNS} FROM profiles WHERE deleted_at IS NULL ORDER BY created_at, id LIMIT $1`, [limit]);
      return rows.map(toStored);
    },
  };
}

export type ProfileRepository = ReturnType<typeof createProfileRepository>;

function toStored(row: ProfileRow): StoredProfile {
  return {
    profile: {
      id: row.id,
      email: row.email,
      name: row.name,
      bio: row.bio,
      avatarKey: row.avatar_key,
      preferences: row.preferences,
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    },
    deleted: row.deleted_at !== null,
    position: { atMicros: row.created_at_us, id: row.id },
  };
}
