import type { Logger } from 'pino';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import type { Bus } from './bus.js';
import type { Envelope } from './envelope.js';
import { OUTBOX_NOTIFY_CHANNEL } from './outbox.js';

export interface OutboxRelayOptions {
  db: Pool;
  bus: Pick<Bus, 'publish' | 'isConnected' | 'on' | 'off'>;
  logger: Logger;
  batchSize?: number;
  /** Fallback when a wake-up is missed (the listening connection is down). */
  pollIntervalMs?: number;
  /** Delay before a refused row is tried again: doubles per attempt from `min` up to `max`. */
  retryDelayMs?: { min: number; max: number };
}

export interface OutboxRelay {
  /** Stops claiming rows and waits for the batch in flight. */
  stop: () => Promise<void>;
}

interface OutboxRow {
  id: string;
  type: string;
  version: number;
  source: string;
  payload: unknown;
  correlation_id: string;
  occurred_at: Date;
}

/**
 * Publishes committed outbox rows. Rows are claimed with FOR UPDATE SKIP LOCKED, so every replica can
 * run a relay; a batch is published in order of occurrence through the confirm window, and a row is
 * marked sent only after its confirm. A refused row keeps its place and is retried with backoff; with
 * the broker down nothing is claimed until the bus reconnects. Wakes on commit (LISTEN/NOTIFY, which
 * also wakes other replicas), on reconnect, and polls as a fallback.
 */
export function startOutboxRelay({ db, bus, logger, batchSize = 100, pollIntervalMs = 1_000, retryDelayMs = { min: 1_000, max: 60_000 } }: OutboxRelayOptions): OutboxRelay {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let listener: PoolClient | undefined;

  function wake() {
    if (stopped) return;
    if (running) return void (again = true);
    clearTimeout(timer);
    running = drain().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        wake();
      } else if (!stopped) {
        timer = setTimeout(wake, pollIntervalMs);
      }
    });
  }

  async function drain() {
    try {
      while (!stopped && bus.isConnected() && (await relayBatch()) === batchSize);
    } catch (error) {
      logger.warn({ err: error }, 'outbox relay failed');
    }
  }

  function relayBatch(): Promise<number> {
    return withTransaction(db, async (tx) => {
      const { rows } = await tx.query<OutboxRow>(
        `SELECT id, type, version, source, payload, correlation_id, occurred_at FROM outbox
         WHERE sent_at IS NULL AND next_attempt_at <= now()
         ORDER BY occurred_at, seq LIMIT $1 FOR UPDATE SKIP LOCKED`, [batchSize]);
      const results = await Promise.allSettled(rows.map((row) => bus.publish(toEnvelope(row))));
      const sent = rows.filter((_, i) => results[i]?.status === 'fulfilled').map((row) => row.id);
      const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [{ id: rows[i]?.id, error: String(result.reason) }] : []));
      if (sent.length > 0) {
        await tx.query('UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::uuid[])', [sent]);
      }
      if (failed.length > 0) {
        await tx.query(
          `UPDATE outbox o SET attempts = o.attempts + 1, last_error = f.error,
             next_attempt_at = now() + least($3::float8, $4::float8 * power(2, o.attempts)) * interval '1 millisecond'
           FROM unnest($1::uuid[], $2::text[]) AS f(id, error) WHERE o.id = f.id`,
          [failed.map((f) => f.id), failed.map((f) => f.error), retryDelayMs.max, retryDelayMs.min]);
        logger.warn({ failed: failed.length, sent: sent.length, error: failed[0]?.error }, 'outbox rows not published: will retry');
      }
      return rows.length;
    });
  }

  async function listen() {
    if (stopped) return;
    let client: PoolClient | undefined;
    let released = false;
    const lose = (error: unknown) => {
      logger.warn({ err: error }, 'outbox listener lost: polling until it is back');
      if (listener === client) listener = undefined;
      if (client && !released) client.release(true);
      released = true;
      setTimeout(() => void listen(), pollIntervalMs * 5).unref();
    };
    try {
      client = await db.connect();
      client.once('error', lose);
      client.on('notification', wake);
      await client.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`);
      listener = client;
      if (stopped) stopListening();
    } catch (error) {
      if (!released) lose(error);
    }
  }

  function stopListening() {
    const client = listener;
    listener = undefined;
    if (!client) return;
    // Swap `lose` for a no-op: it would release the client twice and start listening again.
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    client.release(true);
  }

  const onState = (state: string) => {
    if (state === 'connected') wake();
  };
  bus.on('state', onState);
  void listen();
  wake();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      bus.off('state', onState);
      await running;
      stopListening();
    },
  };
}

function toEnvelope(row: OutboxRow): Envelope {
  return {
    id: row.id,
    type: row.type,
    version: row.version,
    occurredAt: row.occurred_at.toISOString(),
    source: row.source,
    correlationId: row.correlation_id,
    payload: row.payload,
  };
}
