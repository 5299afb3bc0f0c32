import { fileURLToPath } from 'node:url';
import type { Queryable } from '../db/pool.js';
import type { Envelope } from './envelope.js';
import type { ExchangeKind } from './topology.js';

/**
 * The `outbox` and `processed_messages` tables, as a migrations directory for `migrate()`. It resolves
 * from src and dist alike (both sit two levels below the package), so images must ship this folder.
 */
// Outside src/ so the same path holds from src/ (tests) and dist/ (images): both are two levels below the package.
export const MESSAGING_MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/messaging/', import.meta.url));

/** Postgres delivers a NOTIFY only when its transaction commits, so a relay never wakes for a rolled-back row. */
export const OUTBOX_NOTIFY_CHANNEL = 'hubspoke_outbox';

export interface EnqueueOptions {
  /** `events` (the default) or `tasks`, the exchange for commands and work. */
  exchange?: ExchangeKind;
  /**
   * The payload holds a secret (a link with a one-time token): the relay deletes the row once the broker
   * confirmed it, instead of keeping it as sent until pruning. A parked row is kept (it was never sent).
   */
  deleteWhenSent?: boolean;
}

/**
 * Writes the envelope in the caller's transaction, so the change and its message commit (or vanish)
 * together; the relay publishes it after the commit, to the events exchange or (`exchange: 'tasks'`)
 * the tasks exchange. Publish nothing directly after a DB change. Notifies only while a relay sleeps:
 * a NOTIFY per commit would serialise commits and wake every replica.
 */
export async function enqueue(tx: Queryable, envelope: Envelope, { exchange = 'events', deleteWhenSent = false }: EnqueueOptions = {}): Promise<void> {
  await tx.query(
    `WITH added AS (
       INSERT INTO outbox (id, type, version, source, payload, correlation_id, occurred_at, exchange, delete_when_sent)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $9, $10) RETURNING id)
     SELECT pg_notify($8, '') FROM added, outbox_relay_wakeup WHERE waiting`,
    [envelope.id, envelope.type, envelope.version, envelope.source, JSON.stringify(envelope.payload),
      envelope.correlationId, envelope.occurredAt, OUTBOX_NOTIFY_CHANNEL, exchange, deleteWhenSent],
  );
}

/**
 * `enqueue` for many envelopes in one statement: a dispatcher writing a batch of tasks under a lock holds it
 * for one round trip instead of one per envelope.
 */
export async function enqueueAll(tx: Queryable, envelopes: Envelope[], { exchange = 'events' }: { exchange?: ExchangeKind } = {}): Promise<void> {
  if (envelopes.length === 0) return;
  const column = <T>(pick: (envelope: Envelope) => T) => envelopes.map(pick);
  await tx.query(
    `WITH added AS (
       INSERT INTO outbox (id, type, version, source, payload, correlation_id, occurred_at, exchange)
       SELECT id, type, version, source, payload, correlation_id, occurred_at, $8
       FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::jsonb[], $6::text[], $7::timestamptz[])
         AS t(id, type, version, source, payload, correlation_id, occurred_at)
       RETURNING 1)
     SELECT pg_notify($9, '') FROM (SELECT 1 FROM added LIMIT 1) AS any_added, outbox_relay_wakeup WHERE waiting`,
    [column((e) => e.id), column((e) => e.type), column((e) => e.version), column((e) => e.source), column((e) => JSON.stringify(e.payload)),
      column((e) => e.correlationId), column((e) => e.occurredAt), exchange, OUTBOX_NOTIFY_CHANNEL],
  );
}
