import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import type { Bus } from './bus.js';
import type { Envelope } from './envelope.js';
import { OUTBOX_NOTIFY_CHANNEL } from './outbox.js';
import { publishFailureText } from './publisher.js';
import type { ExchangeKind } from './topology.js';

export interface OutboxRelayOptions {
  db: Pool;
  bus: Pick<Bus, 'publish' | 'isConnected' | 'on' | 'off'>;
  logger: Logger;
  /**
   * Rows claimed (and held locked while they are published) per transaction. 500 by default: per batch the relay
   * pays a claim, a mark and a confirm round trip, and 500 rows go through the bus's confirm window at once (the
   * messaging bench: 0.33–0.38 of windowed raw publishing at 100, 0.45–0.51 at 500, runs side by side).
   */
  batchSize?: number;
  /** Fallback when a wake-up is missed (the listening connection is down, or a commit raced the relay falling asleep). */
  pollIntervalMs?: number;
  /** Delay before a refused row is tried again: doubles per attempt from `min` up to `max`. */
  retryDelayMs?: { min: number; max: number };
  /** Refusals after which a row is parked (kept, counted, logged, no longer tried); a row no broker can take (INVALID) is parked at once. */
  maxAttempts?: number;
  /** How long sent outbox rows and consumers' dedupe records are kept before pruning. Dedupe records must outlive any redelivery. */
  retentionMs?: { sent: number; processed: number };
  pruneIntervalMs?: number;
  /** Where the `outbox_*` metrics go (the service's Prometheus registry, served at /internal/metrics). */
  registry?: Registry;
}

export interface OutboxRelay {
  /** Stops claiming rows and pruning, and waits for the batch in flight. */
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
  exchange: ExchangeKind;
  attempts: number;
  delete_when_sent: boolean;
}

const PRUNE_BATCH = 1_000;
const DEFAULT_RETENTION_MS = { sent: 24 * 3_600_000, processed: 7 * 24 * 3_600_000 };

/**
 * Publishes committed outbox rows, at least once each. Rows are claimed with FOR UPDATE SKIP LOCKED, so
 * every replica can run a relay; a row is marked sent only after its confirm. There is NO ordering
 * guarantee: a batch goes out through the confirm window, a refused row is retried later while the rows
 * behind it go ahead, and replicas publish their batches in parallel; consumers must not depend on order.
 * A row refused `maxAttempts` times is parked. With the broker down nothing is claimed until the bus
 * reconnects. Wakes on a NOTIFY (sent by enqueue only while a relay sleeps), on reconnect, and polls as a
 * fallback. Also prunes sent rows and old dedupe records in batches.
 */
export function startOutboxRelay({
  db, bus, logger, batchSize = 500, pollIntervalMs = 1_000, retryDelayMs = { min: 1_000, max: 60_000 }, maxAttempts = 20,
  retentionMs = DEFAULT_RETENTION_MS, pruneIntervalMs = 600_000, registry,
}: OutboxRelayOptions): OutboxRelay {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let listener: PoolClient | undefined;
  let pruning: Promise<void> | undefined;
  let announced: boolean | undefined;
  const metrics = registry && relayMetrics(registry, db);

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
      for (;;) {
        if (stopped || !bus.isConnected()) return;
        const claimed = await relayBatch();
        // Busy: commits need not notify, the relay comes back for more anyway.
        if (claimed === batchSize) await announceWaiting(false);
        else if (announced) return;
        // About to sleep: enqueue notifies again from here. A row committed just before the flag was seen
        // is picked up by one last look (one committed in that same instant waits for the poll).
        else await announceWaiting(true);
      }
    } catch (error) {
      logger.warn({ err: error }, 'outbox relay failed');
    }
  }

  /** The shared flag enqueue reads; written only when this relay's own state changes. */
  async function announceWaiting(waiting: boolean) {
    if (announced === waiting) return;
    await db.query('UPDATE outbox_relay_wakeup SET waiting = $1 WHERE waiting <> $1', [waiting]);
    announced = waiting;
  }

  function relayBatch(): Promise<number> {
    return withTransaction(db, async (tx) => {
      const { rows } = await tx.query<OutboxRow>(
        `SELECT id, type, version, source, payload, correlation_id, occurred_at, exchange, attempts, delete_when_sent FROM outbox
         WHERE sent_at IS NULL AND parked_at IS NULL AND next_attempt_at <= now()
         ORDER BY occurred_at, seq LIMIT $1 FOR UPDATE SKIP LOCKED`, [batchSize]);
      const results = await Promise.allSettled(rows.map((row) => bus.publish(toEnvelope(row), { exchange: row.exchange })));
      const sentRows = rows.filter((_, i) => results[i]?.status === 'fulfilled');
      const sent = sentRows.map((row) => row.id);
      const failed = results.flatMap((result, i) => {
        if (result.status === 'fulfilled') return [];
        const row = rows[i]!;
        const park = (result.reason as { code?: string } | undefined)?.code === 'MESSAGING.INVALID' || row.attempts + 1 >= maxAttempts;
        return [{ row, error: publishFailureText(result.reason), park }];
      });
      if (sent.length > 0) {
        // Rows holding a secret go at once; the rest stay as sent until pruning (a record of what left).
        const [secret, kept] = [sentRows.filter((row) => row.delete_when_sent), sentRows.filter((row) => !row.delete_when_sent)];
        if (secret.length > 0) await tx.query('DELETE FROM outbox WHERE id = ANY($1::uuid[])', [secret.map((row) => row.id)]);
        if (kept.length > 0) await tx.query('UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::uuid[])', [kept.map((row) => row.id)]);
        metrics?.relayed.inc({ outcome: 'sent' }, sent.length);
      }
      if (failed.length > 0) {
        await tx.query(
          `UPDATE outbox o SET attempts = o.attempts + 1, last_error = f.error,
             parked_at = CASE WHEN f.park THEN now() END,
             next_attempt_at = now() + least($4::float8, $5::float8 * power(2, o.attempts)) * interval '1 millisecond'
           FROM unnest($1::uuid[], $2::text[], $3::boolean[]) AS f(id, error, park) WHERE o.id = f.id`,
          [failed.map((f) => f.row.id), failed.map((f) => f.error), failed.map((f) => f.park), retryDelayMs.max, retryDelayMs.min]);
        const parked = failed.filter((f) => f.park);
        for (const { row, error } of parked) {
          logger.error({ outboxId: row.id, type: row.type, attempts: row.attempts + 1, error }, 'outbox row parked: it will not be published until an operator clears parked_at');
        }
        metrics?.relayed.inc({ outcome: 'parked' }, parked.length);
        metrics?.relayed.inc({ outcome: 'refused' }, failed.length - parked.length);
        if (failed.length > parked.length) {
          logger.warn({ failed: failed.length - parked.length, sent: sent.length, error: failed[0]?.error }, 'outbox rows not published: will retry');
        }
      }
      return rows.length;
    });
  }

  async function prune() {
    try {
      const sent = await deleteInBatches(
        'DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at < now() - $1::float8 * interval \'1 millisecond\' LIMIT $2)', retentionMs.sent);
      const processed = await deleteInBatches(
        `DELETE FROM processed_messages WHERE (consumer, message_id) IN (
           SELECT consumer, message_id FROM processed_messages WHERE processed_at < now() - $1::float8 * interval '1 millisecond' LIMIT $2)`,
        retentionMs.processed);
      // serveTasks' outcomes are dedupe records too: kept as long as the consumers' own.
      const outcomes = await deleteInBatches(
        `DELETE FROM task_outcomes WHERE (task_type, job_id, item_key) IN (
           SELECT task_type, job_id, item_key FROM task_outcomes WHERE updated_at < now() - $1::float8 * interval '1 millisecond' LIMIT $2)`,
        retentionMs.processed);
      if (sent + processed + outcomes > 0) logger.info({ sent, processed, outcomes }, 'pruned sent outbox rows and old dedupe records');
    } catch (error) {
      logger.warn({ err: error }, 'outbox pruning failed');
    }
  }

  // Small batches: each is its own short transaction, so pruning never holds locks replicas wait on.
  async function deleteInBatches(sql: string, olderThanMs: number): Promise<number> {
    let total = 0;
    for (let deleted = PRUNE_BATCH; deleted === PRUNE_BATCH && !stopped;) {
      deleted = (await db.query(sql, [olderThanMs, PRUNE_BATCH])).rowCount ?? 0;
      total += deleted;
    }
    return total;
  }

  const pruner = setInterval(() => {
    pruning ??= prune().finally(() => (pruning = undefined));
  }, pruneIntervalMs);
  pruner.unref();

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
      clearInterval(pruner);
      bus.off('state', onState);
      await Promise.all([running, pruning]);
      stopListening();
    },
  };
}

function relayMetrics(registry: Registry, db: Pool) {
  new Gauge({
    name: 'outbox_parked_rows',
    help: 'Outbox rows the relay gave up on (refused too often, or unpublishable): waiting for an operator',
    registers: [registry],
    async collect() {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE parked_at IS NOT NULL');
      this.set(rows[0]?.n ?? 0);
    },
  });
  // A steady backlog is fine; a growing one, or an old oldest row, means the relays are not keeping up or not
  // running. Both come from the partial index on unsent rows. Every replica reports the same database-wide value.
  new Gauge({
    name: 'outbox_pending_rows',
    help: 'Committed outbox rows not yet published (parked ones excluded): the relay\'s backlog',
    registers: [registry],
    async collect() {
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL');
      this.set(rows[0]?.n ?? 0);
    },
  });
  new Gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest outbox row not yet published; 0 when none waits',
    registers: [registry],
    async collect() {
      const { rows } = await db.query<{ age: number }>(
        'SELECT coalesce(extract(epoch FROM now() - min(occurred_at)), 0)::float8 AS age FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL');
      this.set(rows[0]?.age ?? 0);
    },
  });
  return {
    relayed: new Counter({
      name: 'outbox_rows_total',
      help: 'Outbox rows handled by the relay, by outcome: sent, refused (retried later), parked',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
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
