import { z } from 'zod';
import { CHANNELS } from '../domain/channel.js';

const status = z.enum(['queued', 'sending', 'sent', 'failed']);

export const AcceptedBody = z.object({ id: z.uuid() }).meta({ id: 'NotificationAccepted' });

export const AttemptBody = z.object({
  number: z.int().min(1),
  provider: z.string(),
  outcome: z.enum(['pending', 'sent', 'transient', 'permanent', 'interrupted'])
    .meta({ description: '`pending`: the provider call is under way; `interrupted`: the spoke stopped during it (not sent again)' }),
  startedAt: z.iso.datetime({ offset: true }),
  finishedAt: z.iso.datetime({ offset: true }).nullable(),
  providerAnswer: z.string().nullable(),
  error: z.string().nullable(),
}).meta({ id: 'NotificationAttempt' });

export const NotificationBody = z.object({
  id: z.uuid(),
  ownerId: z.string(),
  channel: z.enum(CHANNELS),
  recipient: z.string(),
  template: z.string(),
  status,
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  attempts: z.array(AttemptBody),
}).meta({ id: 'Notification' });

export const NotificationPageBody = z.object({
  items: z.array(z.object({
    id: z.uuid(), channel: z.enum(CHANNELS), template: z.string(), status, attempts: z.int().min(0),
    createdAt: z.iso.datetime({ offset: true }), updatedAt: z.iso.datetime({ offset: true }),
  }).meta({ id: 'NotificationSummary' })),
  nextCursor: z.string().nullable().meta({ description: 'Pass back as `cursor` for the next page; null on the last one' }),
}).meta({ id: 'NotificationPage' });

export const ContactSchema = z.object({
  id: z.uuid(),
  channel: z.enum(CHANNELS),
  address: z.string(),
  source: z.enum(['account', 'user']).meta({ description: '`account`: the account email; `user`: registered through this API' }),
  createdAt: z.iso.datetime({ offset: true }),
}).meta({ id: 'Contact' });

export const ContactListBody = z.object({ contacts: z.array(ContactSchema) }).meta({ id: 'ContactList' });
