import { isUniqueViolation, type Queryable, type Role } from '@hubspoke/kit';
import { emailTaken } from '../domain/auth-errors.js';
import type { Credential } from '../domain/user.js';

interface CredentialRow {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  email_verified: boolean;
}

const COLUMNS = 'user_id, email, name, role, password_hash';
// Verified only while the proven address is the current one (migration 0005).
const SELECTED = `${COLUMNS}, coalesce(email_verified_for = email, false) AS email_verified`;
const toCredential = (row: CredentialRow): Credential => ({
  userId: row.user_id, email: row.email, name: row.name, role: row.role, passwordHash: row.password_hash, emailVerified: row.email_verified,
});

export function createCredentialRepository(db: Queryable) {
  return {
    /** Throws 409 AUTH.EMAIL_TAKEN when an enabled account already has the email. */
    async insert(credential: Credential): Promise<void> {
      try {
        await db.query(`INSERT INTO credentials (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)`, [
          credential.userId, credential.email, credential.name, credential.role, credential.passwordHash]);
      } catch (error) {
        if (isUniqueViolation(error, 'credentials_active_email_key')) throw emailTaken();
        throw error;
      }
    },

    /** Inserts unless an enabled account has the email; true when this call created it. */
    async insertIfEmailFree(credential: Credential): Promise<boolean> {
      const { rowCount } = await db.query(
        `INSERT INTO credentials (${COLUMNS}) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (email) WHERE disabled_at IS NULL DO NOTHING`,
        [credential.userId, credential.email, credential.name, credential.role, credential.passwordHash]);
      return rowCount === 1;
    },

    async findActiveByEmail(email: string): Promise<Credential | null> {
      const { rows } = await db.query<CredentialRow>(
        `SELECT ${SELECTED} FROM credentials WHERE email = $1 AND disabled_at IS NULL`, [email]);
      return rows[0] ? toCredential(rows[0]) : null;
    },

    async findActiveById(userId: string): Promise<Credential | null> {
      const { rows } = await db.query<CredentialRow>(
        `SELECT ${SELECTED} FROM credentials WHERE user_id = $1 AND disabled_at IS NULL`, [userId]);
      return rows[0] ? toCredential(rows[0]) : null;
    },

    async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
      await db.query('UPDATE credentials SET password_hash = $2 WHERE user_id = $1', [userId, passwordHash]);
    },

    /** Locks the account's row: concurrent link requests for one account take turns. */
    async lock(userId: string): Promise<void> {
      await db.query('SELECT 1 FROM credentials WHERE user_id = $1 FOR NO KEY UPDATE', [userId]);
    },

    /** Records `email` as proven, unless the account's address has changed since the link was sent. */
    async markEmailVerified(userId: string, email: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE credentials SET email_verified_for = email WHERE user_id = $1 AND email = $2 AND disabled_at IS NULL', [userId, email]);
      return rowCount === 1;
    },

    /** True when the account was enabled until now. */
    async disable(userId: string): Promise<boolean> {
      const { rowCount } = await db.query(
        'UPDATE credentials SET disabled_at = now() WHERE user_id = $1 AND disabled_at IS NULL', [userId]);
      return rowCount === 1;
    },
  };
}

export type CredentialRepository = ReturnType<typeof createCredentialRepository>;
