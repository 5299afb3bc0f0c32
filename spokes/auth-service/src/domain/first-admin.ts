import { randomUUID } from 'node:crypto';
import { enqueue, withTransaction, type Logger, type Pool, type Role } from '@hubspoke/kit';
import { createAdminSeedRepository } from '../data/admin-seed-repository.js';
import { createCredentialRepository } from '../data/credential-repository.js';
import { userRegistered } from './events.js';
import type { PasswordHasher } from './passwords.js';
import { toPublicUser } from './user.js';

export type FirstAdminOutcome = 'created' | 'present' | 'deleted' | 'seeded-other' | 'email-taken';

/**
 * The first admin from configuration, created once in the database's life (the admin_seed row, under a lock every
 * replica takes), with its user.registered. Never again after that: an admin deleted through the API stays deleted
 * whatever the environment still says, and the start says so loudly. An existing account with the email is left as
 * it is: its password and role are not reset from the environment.
 */
export async function ensureFirstAdmin(
  { db, passwords, logger }: { db: Pool; passwords: PasswordHasher; logger: Logger },
  { email, password }: { email: string; password: string },
): Promise<FirstAdminOutcome> {
  // Hashed before the transaction: argon2 takes tens of milliseconds and needs no connection.
  const credential = { userId: randomUUID(), email, name: 'Administrator', role: 'admin' as Role, passwordHash: await passwords.hash(password), emailVerified: false };
  const outcome = await withTransaction(db, async (tx): Promise<FirstAdminOutcome> => {
    const seeds = createAdminSeedRepository(tx);
    await seeds.lock();
    const seed = await seeds.find();
    if (seed) return seed.email !== email ? 'seeded-other' : seed.active ? 'present' : 'deleted';
    if (!(await createCredentialRepository(tx).insertIfEmailFree(credential))) return 'email-taken';
    await seeds.record(email, credential.userId);
    await enqueue(tx, userRegistered(toPublicUser(credential)));
    return 'created';
  });
  if (outcome === 'created') logger.info({ userId: credential.userId }, 'first admin created');
  if (outcome === 'deleted') {
    logger.warn({ email }, 'ADMIN_EMAIL names the first admin, which was deleted: it is NOT re-created. Remove ADMIN_EMAIL/ADMIN_PASSWORD from the environment');
  }
  if (outcome === 'seeded-other') logger.warn({ email }, 'the first admin was created before with another email: ADMIN_EMAIL/ADMIN_PASSWORD are ignored');
  if (outcome === 'email-taken') logger.warn({ email }, 'ADMIN_EMAIL belongs to an existing account: no admin created, the account is left as it is');
  return outcome;
}
