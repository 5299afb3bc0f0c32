import { randomUUID } from 'node:crypto';
import type { Queryable } from '@hubspoke/kit';
import type { Channel } from '../domain/channel.js';

export interface Contact {
  id: string;
  channel: Channel;
  address: string;
  /** `account`: the account's email (from user.registered); `user`: registered by the user. */
  source: 'account' | 'user';
  createdAt: string;
}

interface ContactRow {
  id: string;
  channel: Channel;
  address: string;
  source: 'account' | 'user';
  created_at: Date;
}

const COLUMNS = 'id, channel, address, source, created_at';

export function createContactRepository(db: Queryable) {
  return {
    /** Inserts, or returns the same contact when the user already has this address on this channel. */
    async upsert(userId: string, { channel, address, source }: { channel: Channel; address: string; source: Contact['source'] }): Promise<Contact> {
      const { rows } = await db.query<ContactRow>(
        `INSERT INTO contacts (id, user_id, channel, address, source) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, channel, address) DO UPDATE SET address = EXCLUDED.address
         RETURNING ${COLUMNS}`, [randomUUID(), userId, channel, address, source]);
      return toContact(rows[0]!);
    },

    /** Newest first: with no `to`, a user's message goes to the contact they registered last. */
    async listOf(userId: string, channel?: Channel): Promise<Contact[]> {
      const { rows } = channel
        ? await db.query<ContactRow>(`SELECT ${COLUMNS} FROM contacts WHERE user_id = $1 AND channel = $2 ORDER BY created_at DESC, id`, [userId, channel])
        : await db.query<ContactRow>(`SELECT ${COLUMNS} FROM contacts WHERE user_id = $1 ORDER BY created_at DESC, id`, [userId]);
      return rows.map(toContact);
    },

    /** Whose contact an address is, when it is anyone's: a message an admin sends there is erased with that user. */
    async ownerOf(channel: Channel, address: string): Promise<string | null> {
      const { rows } = await db.query<{ user_id: string }>(
        'SELECT user_id FROM contacts WHERE channel = $1 AND address = $2 ORDER BY created_at LIMIT 1', [channel, address]);
      return rows[0]?.user_id ?? null;
    },

    /** Only contacts the user registered: the account email follows the account. */
    async deleteRegistered(userId: string, id: string): Promise<boolean> {
      const { rowCount } = await db.query(`DELETE FROM contacts WHERE id = $1 AND user_id = $2 AND source = 'user'`, [id, userId]);
      return (rowCount ?? 0) > 0;
    },

    async deleteAllOf(userId: string): Promise<number> {
      const { rowCount } = await db.query('DELETE FROM contacts WHERE user_id = $1', [userId]);
      return rowCount ?? 0;
    },
  };
}

function toContact(row: ContactRow): Contact {
  return { id: row.id, channel: row.channel, address: row.address, source: row.source, createdAt: row.created_at.toISOString() };
}
