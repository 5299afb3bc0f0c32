import { decodeCursor, encodeCursor, enqueue, withTransaction, type Logger, type Pool, type Queryable } from '@hubspoke/kit';
import { createProfileRepository, type ProfileRepository, type StoredProfile } from '../data/profile-repository.js';
import type { Actor, KnownIdentity, Profile, ProfileChanges, ProfilePage } from './profile.js';
import { invalidCursor, userNotFound } from './user-errors.js';
import { userDeletedV1, userUpdatedV1 } from './user-events.js';

export interface ProfileServiceDeps {
  db: Pool;
  logger: Logger;
}

/**
 * The profile flows. A user who reaches us before their user.registered event gets a profile made
 * from their token; a deleted profile stays deleted (404) whatever token or event arrives later.
 */
export function createProfileService({ db, logger }: ProfileServiceDeps) {
  /** The caller's own live profile, created from what the token says if the event has not arrived yet. */
  async function ensureOwn(profiles: ProfileRepository, identity: KnownIdentity): Promise<Profile> {
    let stored = await profiles.findById(identity.id);
    if (!stored) {
      if (await profiles.insertIfAbsent(identity)) logger.info({ userId: identity.id }, 'profile created from access token');
      stored = await profiles.findById(identity.id);
    }
    return live(stored);
  }

  /** Others' profiles are admin-only; anyone else hears "no such user", never "not allowed". */
  function assertMayAccess(actor: Actor, id: string): void {
    if (actor.id !== id && actor.role !== 'admin') throw userNotFound();
  }

  return {
    me: (identity: KnownIdentity): Promise<Profile> => ensureOwn(createProfileRepository(db), identity),

    /** Applies the changes and queues user.updated in the same transaction. */
    updateMe: (identity: KnownIdentity, changes: ProfileChanges): Promise<Profile> =>
      withTransaction(db, async (tx) => {
        const profiles = createProfileRepository(tx);
        await ensureOwn(profiles, identity);
        const updated = live(await profiles.update(identity.id, changes));
        await enqueue(tx, userUpdatedV1(identity.id, changes));
        logger.info({ userId: identity.id, fields: Object.keys(changes) }, 'profile updated');
        return updated;
      }),

    async get(actor: Actor, identity: KnownIdentity, id: string): Promise<Profile> {
      assertMayAccess(actor, id);
      const profiles = createProfileRepository(db);
      return actor.id === id ? ensureOwn(profiles, identity) : live(await profiles.findById(id));
    },

    async list({ cursor, limit }: { cursor?: string; limit: number }): Promise<ProfilePage> {
      const after = cursor === undefined ? undefined : decodeCursor(cursor, invalidCursor);
      const rows = await createProfileRepository(db).listLive({ after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map((row) => row.profile), nextCursor: rows.length > limit && last ? encodeCursor(last.position) : null };
    },

    /** Soft-deletes and queues user.deleted in the same transaction; a second delete is a 404. */
    async remove(actor: Actor, identity: KnownIdentity, id: string): Promise<void> {
      assertMayAccess(actor, id);
      await withTransaction(db, async (tx) => {
        const profiles = createProfileRepository(tx);
        // Deleting yourself before the registration event arrived still works (and that event then finds the row).
        if (actor.id === id) await ensureOwn(profiles, identity);
        if (!(await profiles.softDelete(id))) throw userNotFound();
        await enqueue(tx, userDeletedV1(id));
      });
      logger.info({ userId: id, by: actor.id }, 'profile deleted');
    },

    /** user.registered: runs in the consumer's transaction, with its dedupe record. */
    async recordRegistration(tx: Queryable, identity: KnownIdentity): Promise<void> {
      const outcome = await createProfileRepository(tx).recordRegistration(identity);
      logger.info({ userId: identity.id, outcome }, 'user registration recorded');
    },
  };
}

export type ProfileService = ReturnType<typeof createProfileService>;

function live(stored: StoredProfile | null): Profile {
  if (!stored || stored.deleted) throw userNotFound();
  return stored.profile;
}
