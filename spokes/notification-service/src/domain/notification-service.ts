import type { SendAccountEmailV1Payload } from '@hubspoke/contracts';
import { decodeCursor, encodeCursor } from '@hubspoke/kit';
import { createHash, randomUUID } from 'node:crypto';
import type { Logger, Pool, Queryable, Role } from '@hubspoke/kit';
import { createContactRepository } from '../data/contact-repository.js';
import { createNotificationRepository } from '../data/notification-repository.js';
import { ACCOUNT_TEMPLATES, accountEmailData } from './account-emails.js';
import { ADDRESS_SCHEMAS, normalizeAddress, type Channel } from './channel.js';
import type { NotificationDetail, NotificationPage } from './notification.js';
import {
  idempotencyKeyReused, invalidAddress, invalidCursor, noContact, notificationNotFound, recipientForbidden, unknownTemplate,
} from './notification-errors.js';
import type { RateLimiter } from './rate-limiter.js';
import type { TemplateData, Templates } from './templates.js';

export interface Caller {
  userId: string;
  role: Role;
}

export interface SendRequest {
  channel: Channel;
  /** Omitted: the caller's own (latest) contact on the channel. */
  to?: string;
  template: string;
  data: TemplateData;
  idempotencyKey?: string;
}

/** A hub task's answer: queued (or already queued for this item), or come back later. */
export type JobItemResult = { status: 'queued'; id: string } | { status: 'throttled'; retryAfterMs: number };

export interface NotificationServiceDeps {
  db: Pool;
  templates: Templates;
  limiter: RateLimiter;
  logger: Logger;
  /** Tells the send worker something is due now. */
  wake: () => void;
}

/**
 * The notification flows. Every send goes through `queue`: render (a 400 before anything is stored),
 * then insert under a dedupe key — `event:<envelope id>`, `key:<user>:<idempotency key>` or
 * `job:<job id>:<item key>` — so a repeat of any of them is the same notification, sent once.
 */
export function createNotificationService({ db, templates, limiter, logger, wake }: NotificationServiceDeps) {
  async function queue(q: Queryable, input: {
    ownerId: string; recipientUserId: string | null; channel: Channel; recipient: string; template: string; data: TemplateData;
    dedupeKey: string | null; fingerprint?: string; paced?: boolean; account?: boolean;
  }): Promise<{ id: string; created: boolean }> {
    if (ACCOUNT_TEMPLATES.has(input.template) && !input.account) throw unknownTemplate(input.template);
    const message = templates.render(input.template, input.data);
    const stored = await createNotificationRepository(q).insertOnce({
      id: randomUUID(), ownerId: input.ownerId, recipientUserId: input.recipientUserId, dedupeKey: input.dedupeKey,
      fingerprint: input.fingerprint ?? null, channel: input.channel, recipient: input.recipient, template: input.template, message, paced: input.paced ?? false,
      eraseAfterSend: input.account ?? false,
    });
    if (!stored.created && input.fingerprint !== undefined && stored.fingerprint !== input.fingerprint) throw idempotencyKeyReused();
    if (stored.created) logger.info({ notificationId: stored.id, channel: input.channel, template: input.template }, 'notification queued');
    return stored;
  }

  /**
   * Who gets it: a plain user only their own contacts (the latest one when `to` is omitted); an admin any
   * valid address. A message to someone's contact is erased with that user.
   */
  async function resolveRecipient(caller: Caller, channel: Channel, to: string | undefined): Promise<{ recipient: string; recipientUserId: string | null }> {
    const contacts = createContactRepository(db);
    if (to === undefined) {
      const own = (await contacts.listOf(caller.userId, channel))[0];
      if (!own) throw noContact(channel);
      return { recipient: own.address, recipientUserId: caller.userId };
    }
    const parsed = ADDRESS_SCHEMAS[channel].safeParse(normalizeAddress(channel, to));
    if (!parsed.success) throw invalidAddress(parsed.error.issues[0]?.message ?? 'is not valid');
    const recipient = parsed.data;
    const mine = (await contacts.listOf(caller.userId, channel)).some((c) => c.address === recipient);
    if (mine) return { recipient, recipientUserId: caller.userId };
    if (caller.role !== 'admin') throw recipientForbidden();
    return { recipient, recipientUserId: await contacts.ownerOf(channel, recipient) };
  }

  return {
    /** POST /: queued (202), or the notification this idempotency key already made. */
    async send(caller: Caller, request: SendRequest): Promise<{ id: string }> {
      const { recipient, recipientUserId } = await resolveRecipient(caller, request.channel, request.to);
      const dedupeKey = request.idempotencyKey === undefined ? null : `key:${caller.userId}:${request.idempotencyKey}`;
      const { id, created } = await queue(db, {
        ownerId: caller.userId, recipientUserId, channel: request.channel, recipient, template: request.template, data: request.data,
        dedupeKey, fingerprint: fingerprintOf(request),
      });
      if (created) wake();
      return { id };
    },

    /**
     * One recipient of a job (a hub task `notification.send`): the same rules as `send`, keyed by (job id,
     * item key) so a task delivered twice queues one message. When the channel's provider limit is reached
     * nothing is queued and the answer says when to come back, which lets the hub pace the job; the token
     * taken here pays for the first provider call.
     */
    async sendJobItem(caller: Caller, item: { jobId: string; itemKey: string } & Omit<SendRequest, 'idempotencyKey'>): Promise<JobItemResult> {
      const dedupeKey = `job:${item.jobId}:${item.itemKey}`;
      const existing = await createNotificationRepository(db).findByDedupeKey(dedupeKey);
      if (existing) return { status: 'queued', id: existing.id };
      const { recipient, recipientUserId } = await resolveRecipient(caller, item.channel, item.to);
      const admission = limiter.take(item.channel);
      if (!admission.ok) return { status: 'throttled', retryAfterMs: admission.retryAfterMs };
      const { id, created } = await queue(db, {
        ownerId: caller.userId, recipientUserId, channel: item.channel, recipient, template: item.template, data: item.data, dedupeKey, paced: true,
      });
      if (created) wake();
      return { status: 'queued', id };
    },

    /** user.registered: the account email becomes a contact and gets the welcome email, once per event. */
    async welcome(tx: Queryable, eventId: string, user: { userId: string; email: string; name: string }): Promise<void> {
      const email = normalizeAddress('email', user.email);
      await createContactRepository(tx).upsert(user.userId, { channel: 'email', address: email, source: 'account' });
      await queue(tx, {
        ownerId: user.userId, recipientUserId: user.userId, channel: 'email', recipient: email, template: 'welcome', data: { name: user.name },
        dedupeKey: `event:${eventId}`,
      });
    },

    /**
     * The auth spoke's `notification.send_account_email` command: to the account's address, once per command
     * id. Its body (a one-time link) is erased once the notification is final, and nothing logs the link.
     */
    async accountEmail(tx: Queryable, commandId: string, command: SendAccountEmailV1Payload): Promise<void> {
      const { id, created } = await queue(tx, {
        ownerId: command.userId, recipientUserId: command.userId, channel: 'email', recipient: normalizeAddress('email', command.email),
        template: command.template, data: accountEmailData(command), dedupeKey: `command:${commandId}`, account: true,
      });
      if (created) wake();
      logger.debug({ notificationId: id, created }, 'account email queued');
    },

    /** One notification with every attempt: its owner's, or any for an admin; anyone else gets the same 404 as a missing one. */
    async get(caller: Caller, id: string): Promise<NotificationDetail> {
      const found = await createNotificationRepository(db).findDetail(id);
      if (!found || (found.ownerId !== caller.userId && caller.role !== 'admin')) throw notificationNotFound();
      return found;
    },

    async list(caller: Caller, { cursor, limit }: { cursor?: string; limit: number }): Promise<NotificationPage> {
      const after = cursor === undefined ? undefined : decodeCursor(cursor, invalidCursor);
      const rows = await createNotificationRepository(db).listByOwner(caller.userId, { after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map((row) => row.summary), nextCursor: rows.length > limit && last ? encodeCursor(last.position) : null };
    },

    /** user.deleted: the user's contacts and every notification they asked for or received, attempts included. */
    async eraseUser(tx: Queryable, userId: string): Promise<void> {
      const contacts = await createContactRepository(tx).deleteAllOf(userId);
      const notifications = await createNotificationRepository(tx).deleteAllOf(userId);
      logger.info({ userId, contacts, notifications }, 'user erased after user.deleted');
    },
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;

/** The same request sent again with its idempotency key has the same fingerprint; another request does not. */
function fingerprintOf({ channel, to, template, data }: SendRequest): string {
  const sortedData = Object.fromEntries(Object.entries(data).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(JSON.stringify([channel, to ?? null, template, sortedData])).digest('base64url');
}
