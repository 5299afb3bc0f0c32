import type { Pool } from '@hubspoke/kit';
import { createContactRepository, type Contact } from '../data/contact-repository.js';
import { normalizeAddress } from './channel.js';
import { contactNotFound, tooManyContacts } from './notification-errors.js';

/** A user keeps a handful of phones and devices; more is a client bug or abuse. */
export const MAX_CONTACTS = 20;

/** Phone numbers and push tokens a user registers for themselves; the account email comes from user.registered. */
export function createContactService({ db }: { db: Pool }) {
  return {
    async register(userId: string, { channel, address }: { channel: 'sms' | 'push'; address: string }): Promise<Contact> {
      const contacts = createContactRepository(db);
      const normalized = normalizeAddress(channel, address);
      const existing = await contacts.listOf(userId);
      const same = existing.find((c) => c.channel === channel && c.address === normalized);
      if (same) return same;
      if (existing.length >= MAX_CONTACTS) throw tooManyContacts();
      return contacts.upsert(userId, { channel, address: normalized, source: 'user' });
    },

    list: (userId: string): Promise<Contact[]> => createContactRepository(db).listOf(userId),

    async remove(userId: string, id: string): Promise<void> {
      if (!(await createContactRepository(db).deleteRegistered(userId, id))) throw contactNotFound();
    },
  };
}

export type ContactService = ReturnType<typeof createContactService>;
