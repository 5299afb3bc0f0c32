import type { Queryable } from '@hubspoke/kit';
import type { Channel } from '../domain/channel.js';

/** A notification claimed for one provider call. */
export interface ClaimedSend {
  id: string;
  ownerId: string;
  channel: Channel;
  recipient: string;
  template: string;
  subject: string;
  text: string;
  html: string;
  /** The number of the attempt about to be made. */
  attempt: number;
}

interface DueRow {
  id: string;
  owner_id: string;
  channel: Channel;
  recipient: string;
  template: string;
  subject: string;
  body_text: string;
  body_html: string;
  attempts: number;
}

// What a secret-bearing body becomes once the notification is final (sent, failed or interrupted).
const ERASED_BODY = '[erased after sending: it held a one-time link]';
const ERASE_IF_SECRET = `body_text = CASE WHEN erase_after_send THEN '${ERASED_BODY}' ELSE body_text END,
  body_html = CASE WHEN erase_after_send THEN '${ERASED_BODY}' ELSE body_html END`;

/** The queue's SQL; every function runs inside the caller's transaction. */
export function createSendQueue(tx: Queryable) {
  return {
    /** Locks up to `limit` due notifications; other instances skip them until this transaction ends. */
    async lockDue(limit: number): Promise<ClaimedSend[]> {
      const { rows } = await tx.query<DueRow>(
        `SELECT id, owner_id, channel, recipient, template, subject, body_text, body_html, attempts FROM notifications
         WHERE status = 'queued' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED`, [limit]);
      return rows.map((row) => ({
        id: row.id, ownerId: row.owner_id, channel: row.channel, recipient: row.recipient, template: row.template,
        subject: row.subject, text: row.body_text, html: row.body_html, attempt: row.attempts + 1,
      }));
    },

    /** Not an attempt: the channel's rate limit said wait. */
    async defer(id: string, delayMs: number): Promise<void> {
      await tx.query(`UPDATE notifications SET next_attempt_at = now() + $2 * interval '1 millisecond' WHERE id = $1`, [id, delayMs]);
    },

    /** The send intent: committed before the provider is called, so a crash during the call is visible afterwards. */
    async markSending(send: ClaimedSend, provider: string, leaseMs: number): Promise<void> {
      await tx.query(
        `UPDATE notifications SET status = 'sending', attempts = $2, lease_until = now() + $3 * interval '1 millisecond', updated_at = now() WHERE id = $1`,
        [send.id, send.attempt, leaseMs]);
      await tx.query('INSERT INTO send_attempts (notification_id, number, provider) VALUES ($1, $2, $3)', [send.id, send.attempt, provider]);
    },

    /**
     * Settles a pending attempt. False when it is no longer pending (reconciled as interrupted after its
     * lease ran out, or erased by user.deleted): then the notification is left as it is.
     */
    async settle(id: string, attempt: number, { outcome, answer, error }: { outcome: 'sent' | 'transient' | 'permanent'; answer?: string; error?: string }): Promise<boolean> {
      const { rowCount } = await tx.query(
        `UPDATE send_attempts SET outcome = $3, finished_at = now(), provider_answer = $4, error = $5
         WHERE notification_id = $1 AND number = $2 AND outcome = 'pending'`, [id, attempt, outcome, answer ?? null, error ?? null]);
      return (rowCount ?? 0) > 0;
    },

    /** Final: a body holding a secret is erased in the same statement, never to be sent again anyway. */
    async finish(id: string, status: 'sent' | 'failed'): Promise<void> {
      await tx.query(`UPDATE notifications SET status = $2, lease_until = NULL, updated_at = now(), ${ERASE_IF_SECRET} WHERE id = $1`, [id, status]);
    },

    async retryLater(id: string, delayMs: number): Promise<void> {
      await tx.query(
        `UPDATE notifications SET status = 'queued', lease_until = NULL, next_attempt_at = now() + $2 * interval '1 millisecond', updated_at = now() WHERE id = $1`,
        [id, delayMs]);
    },

    /**
     * Sends whose instance died during the provider call (lease passed, attempt still pending): nobody
     * knows whether the provider took the message, so they fail as `interrupted` and are never sent again.
     */
    async reconcileExpired(): Promise<{ id: string; ownerId: string; channel: Channel; template: string; attempts: number }[]> {
      const { rows } = await tx.query<{ id: string; owner_id: string; channel: Channel; template: string; attempts: number }>(
        `UPDATE notifications SET status = 'failed', lease_until = NULL, updated_at = now(), ${ERASE_IF_SECRET}
         WHERE id IN (SELECT id FROM notifications WHERE status = 'sending' AND lease_until < now() FOR UPDATE SKIP LOCKED)
         RETURNING id, owner_id, channel, template, attempts`);
      if (rows.length > 0) {
        await tx.query(
          `UPDATE send_attempts SET outcome = 'interrupted', finished_at = now(),
             error = 'the spoke stopped during the provider call; not sent again, so it is never sent twice'
           WHERE notification_id = ANY($1::uuid[]) AND outcome = 'pending'`, [rows.map((r) => r.id)]);
      }
      return rows.map((r) => ({ id: r.id, ownerId: r.owner_id, channel: r.channel, template: r.template, attempts: r.attempts }));
    },
  };
}
