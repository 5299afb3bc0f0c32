import type { SendAccountEmailV1Payload } from '@hubspoke/contracts';
import { decodeCursor, encodeCursor } from '@hubspoke/kit';
import { createHash, randomUUID } from 'node:crypto';
import type { Logger, Pool, Queryable, Role } from '@hubspoke/kit';
import { createContactRepository } from '../data/contact-repository.js';
import { createNotificationRepository } from '../data/notification-repository.js';
import { ADDRESS_SCHEMAS, normalizeAddress, type Channel } from './channel.js';
import type { NotificationDetail, NotificationPage } from './notification.js';
import {
  idempotencyKeyReused, invalidAddress, invalidCursor, noContact, notificationNotFound, recipientForbidden, unknownTemplate,
} from './notification-errors.js';
import type { RateLimiter } from './rate-limiter.js';
import type { RenderedMessage, TemplateData, Templates } from './templates.js';
import { ACCOUNT_TEMPLATES, accountEmailData } from './account-emails.js';

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
  /**
   * Paces hub tasks: as many job items a second as the worker may make provider calls (its own limiter), so a
   * job is admitted no faster than it can be sent, and the hub is told to slow down rather than fill the queue.
   */
  jobAdmission: RateLimiter;
  logger: Logger;
  /** Tells the send worker something is due now. */
  wake: () => void;
}

/**
 * The notification flows. Every send is rendered first (a 400 before anything is stored), then `queue`
 * inserts it under a dedupe key — `event:<envelope id>`, `key:<user>:<idempotency key>` or
 * `job:<job id>:<item key>` — so a repeat of any of them is the same notification, sent once.
 */
export function createNotificationService({ db, templates, jobAdmission, logger, wake }: NotificationServiceDeps) {
  /** Renders a message; the account templates (one-time links) only for the auth spoke's commands, as if unknown to anyone else. */
  function render(template: string, data: TemplateData, { account = false } = {}): RenderedMessage {
    if (ACCOUNT_TEMPLATES.has(template) && !account) throw unknownTemplate(template);
    return templates.render(template, data);
  }

  async function queue(q: Queryable, input: {
    ownerId: string; recipientUserId: string | null; channel: Channel; recipient: string; template: string; message: RenderedMessage;
    dedupeKey: string | null; fingerprint?: string; account?: boolean;
  }): Promise<{ id: string; created: boolean }> {
    const stored = await createNotificationRepository(q).insertOnce({
      id: randomUUID(), ownerId: input.ownerId, recipientUserId: input.recipientUserId, dedupeKey: input.dedupeKey,
      fingerprint: input.fingerprint ?? null, channel: input.channel, recipient: input.recipient, template: input.template, message: input.message,
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
  async function resolveRecipient(q: Queryable, caller: Caller, channel: Channel, to: string | undefined): Promise<{ recipient: string; recipientUserId: string | null }> {
    const contacts = createContactRepository(q);
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
      const { recipient, recipientUserId } = await resolveRecipient(db, caller, request.channel, request.to);
      const dedupeKey = request.idempotencyKey === undefined ? null : `key:${caller.userId}:${request.idempotencyKey}`;
      const { id, created } = await queue(db, {
        ownerId: caller.userId, recipientUserId, channel: request.channel, recipient, template: request.template,
        message: render(request.template, request.data), dedupeKey, fingerprint: fingerprintOf(request),
      });
      if (created) wake();
      return { id };
    },

    /**
     * One recipient of a job (the hub task `notification.send`), written through the task's transaction `tx`:
     * the same rules as `send`, keyed by (job id, item key). The notification commits with the task's outcome
     * or not at all, and a task run again (a redelivery, a new attempt after a failure) finds the one it
     * queued. Items are admitted at the channel's provider rate (`jobAdmission`); past it nothing is queued and
     * the answer says when to come back, which lets the hub pace the job. The provider call itself is paced again
     * by the worker, so a backlog never reaches the provider faster than its limit. The worker cannot see the
     * row before `tx` commits: the caller wakes it then (`wakeSender`).
     */
    async sendJobItem(tx: Queryable, caller: Caller, item: { jobId: string; itemKey: string } & Omit<SendRequest, 'idempotencyKey'>): Promise<JobItemResult> {
      const dedupeKey = `job:${item.jobId}:${item.itemKey}`;
      const existing = await createNotificationRepository(tx).findByDedupeKey(dedupeKey);
      if (existing) return { status: 'queued', id: existing.id };
      const { recipient, recipientUserId } = await resolveRecipient(tx, caller, item.channel, item.to);
      // Rendered before a token is taken: a message that cannot be rendered is refused without using up the limit.
      const message = render(item.template, item.data);
      const admission = jobAdmission.take(item.channel);
      if (!admission.ok) return { status: 'throttled', retryAfterMs: admission.retryAfterMs };
      const { id } = await queue(tx, {
        ownerId: caller.userId, recipientUserId, channel: item.channel, recipient, template: item.template, message, dedupeKey,
      });
      return { status: 'queued', id };
    },

    /** Something was committed to the queue by another transaction than this service's own (a task's): the worker looks now. */
    wakeSender: wake,

    /** user.registered: the account email becomes a contact and gets the welcome email, once per event. */
    async welcome(tx: Queryable, eventId: string, user: { userId: string; email: string; name: string }): Promise<void> {
      const email = normalizeAddress('email', user.email);
      await createContactRepository(tx).upsert(user.userId, { channel: 'email', address: email, source: 'account' });
      await queue(tx, {
        ownerId: user.userId, recipientUserId: user.userId, channel: 'email', recipient: email, template: 'welcome', message: render('welcome', { name: user.name }),
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
        template: command.template, message: render(command.template, accountEmailData(command), { account: true }), dedupeKey: `command:${commandId}`, account: true,
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
