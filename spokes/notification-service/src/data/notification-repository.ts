import type { PagePosition } from '@hubspoke/kit';
import type { Queryable } from '@hubspoke/kit';
import type { Channel } from '../domain/channel.js';
import type { Attempt, NotificationDetail, NotificationSummary } from '../domain/notification.js';
import type { RenderedMessage } from '../domain/templates.js';

export interface NewNotification {
  id: string;
  ownerId: string;
  recipientUserId: string | null;
  dedupeKey: string | null;
  fingerprint: string | null;
  channel: Channel;
  recipient: string;
  template: string;
  message: RenderedMessage;
  /** The body holds a secret (a one-time link): erased once the notification is final. */
  eraseAfterSend: boolean;
}

interface SummaryRow {
  id: string;
  owner_id: string;
  recipient: string;
  channel: Channel;
  template: string;
  status: NotificationSummary['status'];
  attempts: number;
  created_at: Date;
  updated_at: Date;
  created_at_us: string;
}

const COLUMNS = `id, owner_id, recipient, channel, template, status, attempts, created_at, updated_at,
  (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_at_us`;

export function createNotificationRepository(db: Queryable) {
  const findByDedupeKey = async (dedupeKey: string): Promise<{ id: string; fingerprint: string | null } | null> => {
    const { rows } = await db.query<{ id: string; request_fingerprint: string | null }>(
      'SELECT id, request_fingerprint FROM notifications WHERE dedupe_key = $1', [dedupeKey]);
    return rows[0] ? { id: rows[0].id, fingerprint: rows[0].request_fingerprint } : null;
  };

  return {
    findByDedupeKey,

    /** Inserts unless the dedupe key is taken; then answers the notification that holds it. */
    async insertOnce(n: NewNotification): Promise<{ id: string; created: boolean; fingerprint: string | null }> {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO notifications (id, owner_id, recipient_user_id, dedupe_key, request_fingerprint, channel, recipient, template, subject, body_text, body_html, erase_after_send)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
        [n.id, n.ownerId, n.recipientUserId, n.dedupeKey, n.fingerprint, n.channel, n.recipient, n.template, n.message.subject, n.message.text, n.message.html, n.eraseAfterSend]);
      if (rows[0]) return { id: rows[0].id, created: true, fingerprint: n.fingerprint };
      // ON CONFLICT with a null dedupe key cannot happen (nulls never conflict), so the key is set here.
      const existing = await findByDedupeKey(n.dedupeKey!);
      if (!existing) throw new Error(`notification with dedupe key ${n.dedupeKey} vanished during insert`);
      return { ...existing, created: false };
    },

    async findDetail(id: string): Promise<NotificationDetail | null> {
      const { rows } = await db.query<SummaryRow>(`SELECT ${COLUMNS} FROM notifications WHERE id = $1`, [id]);
      const row = rows[0];
      if (!row) return null;
      const attempts = await db.query<AttemptRow>(
        'SELECT number, provider, outcome, started_at, finished_at, provider_answer, error FROM send_attempts WHERE notification_id = $1 ORDER BY number', [id]);
      return {
        id: row.id, ownerId: row.owner_id, recipient: row.recipient, channel: row.channel, template: row.template, status: row.status,
        createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(), attempts: attempts.rows.map(toAttempt),
      };
    },

    /** The owner's notifications in (created_at, id) order, strictly after `after` when given. */
    async listByOwner(ownerId: string, { after, limit }: { after?: PagePosition; limit: number }): Promise<{ summary: NotificationSummary; position: PagePosition }[]> {
      const { rows } = after
        ? await db.query<SummaryRow>(
          `SELECT ${COLUMNS} FROM notifications
           WHERE owner_id = $1 AND (created_at, id) > (timestamptz 'epoch' + $2::bigint * interval '1 microsecond', $3::uuid)
           ORDER BY created_at, id LIMIT $4`, [ownerId, after.atMicros, after.id, limit])
        : await db.query<SummaryRow>(`SELECT ${COLUMNS} FROM notifications WHERE owner_id = $1 ORDER BY created_at, id LIMIT $2`, [ownerId, limit]);
      return rows.map((row) => ({
        summary: {
          id: row.id, channel: row.channel, template: row.template, status: row.status, attempts: row.attempts,
          createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
        },
        position: { atMicros: row.created_at_us, id: row.id },
      }));
    },

    /** Everything a user asked for or received; their attempts go with them (ON DELETE CASCADE). */
    async deleteAllOf(userId: string): Promise<number> {
      const { rowCount } = await db.query('DELETE FROM notifications WHERE owner_id = $1 OR recipient_user_id = $1', [userId]);
      return rowCount ?? 0;
    },
  };
}

interface AttemptRow {
  number: number;
  provider: string;
  outcome: Attempt['outcome'];
  started_at: Date;
  finished_at: Date | null;
  provider_answer: string | null;
  error: string | null;
}

function toAttempt(row: AttemptRow): Attempt {
  return {
    number: row.number, provider: row.provider, outcome: row.outcome, startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null, providerAnswer: row.provider_answer, error: row.error,
  };
}
