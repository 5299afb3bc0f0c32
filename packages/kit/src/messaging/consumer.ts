import { randomUUID } from 'node:crypto';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { runWithContext } from '../context.js';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import type { BusEventEmitter } from './events.js';
import { batchWhileBusy } from './batch-while-busy.js';
import { InvalidEnvelopeError, parseEnvelope, routingKeyOf, type Envelope } from './envelope.js';
import { confirmedPublisher } from './publisher.js';
import { declareConsumerQueues, matchesBinding, retryQueueFor, type ConsumerQueues, type ExchangeKind, type QueueType } from './topology.js';

/**
 * Runs inside the consumer's transaction: what it writes commits together with the dedupe record. A
 * throw is retried; throw InvalidEnvelopeError (say, for a payload that fails validation) to dead-letter at once.
 * It may return work to run once the transaction has committed and before the message is acked (publishing
 * the answer the transaction recorded); when that work fails, the message is retried like a failed handler,
 * so it suits handlers that see a retry run again (`dedupe: false`) and can redo it from what they recorded.
 */
export type MessageHandler = (envelope: Envelope, tx: PoolClient) => Promise<void | AfterCommit>;

/** Work a handler leaves for after its commit (see MessageHandler). */
export type AfterCommit = () => Promise<void>;

export interface ConsumeOptions {
  /** The queue is `<service>.<name>`. */
  name: string;
  /** Routing-key patterns (`user.registered.v1`, `#`); a message whose type and version match none is poison. */
  bindings: string[];
  /** The consumer's own database, holding `processed_messages` (MESSAGING_MIGRATIONS_DIR). */
  db: Pool;
  handler: MessageHandler;
  /**
   * Handles the messages that arrived while the previous batch ran (up to the prefetch) in one transaction:
   * one commit, and one pass over rows they share (a job's counts), instead of one each. It must do what
   * `handler` does for each, in order. When it throws, each message of the batch is handled alone by
   * `handler`, so a bad one is retried or dead-lettered on its own and the others go through.
   */
  batchHandler?: (envelopes: Envelope[], tx: PoolClient) => Promise<void | AfterCommit>;
  /**
   * `false`: no dedupe record, a redelivered message runs the handler again. For handlers idempotent on their
   * own terms (a task's outcome row, a result for an attempt no longer awaited), saving a write per message.
   */
  dedupe?: false;
  /** Deliveries before a failing message goes to the DLQ; a redelivery (the previous one never settled) counts as one. */
  maxAttempts?: number;
  /** Delay before each retry; the last one repeats. */
  retryDelaysMs?: number[];
  /**
   * Handlers running at once. Each holds a database connection for its transaction, so the default is
   * half the pool (HTTP requests, the outbox relay and its LISTEN share the rest); more than the pool
   * only makes messages queue for connections.
   */
  prefetch?: number;
  /** Longest a handler's transaction may run before it fails as an attempt (and its connection is closed). */
  handlerTimeoutMs?: number;
  /** Where the queue is bound: `events` (the default) or `tasks`, the exchange for commands and work. */
  exchange?: ExchangeKind;
  /**
   * `quorum` replicates the queue and its retry and dead-letter queues (durable work that must survive a
   * broker node); `classic` is the default. The type of an existing queue cannot change in place.
   */
  queueType?: QueueType;
}

export interface ConsumerContext {
  logger: Logger;
  events: BusEventEmitter;
  exchange: string;
  queues: ConsumerQueues;
  /** The consumer's channel closed or the broker cancelled it: start this consumer again. */
  restart: (reason: string) => void;
  /** Every handler runs under this, so shutdown awaits handlers started on connections since lost. */
  track: (handling: Promise<void>) => void;
}

export interface RunningConsumer {
  /** Stops new deliveries, waits for the handlers in flight, closes the channel. */
  stop: () => Promise<void>;
}

/** 1 s, 10 s, 60 s, 60 s, then the DLQ: about 131 s. A service changes it with MESSAGING_RETRY_DELAYS and MESSAGING_MAX_ATTEMPTS. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1_000, 10_000, 60_000];
export const DEFAULT_MAX_ATTEMPTS = 5;
const MAX_ERROR_LENGTH = 1000;
export const ORIGINAL_EXCHANGE_HEADER = 'x-original-exchange';
export const ORIGINAL_ROUTING_KEY_HEADER = 'x-original-routing-key';
const DEFAULT_POOL_SIZE = 10;
const DEFAULT_HANDLER_TIMEOUT_MS = 60_000;
const CONNECTION_WAIT_MS = { min: 100, max: 5_000 };
const REDELIVERED = 'redelivered: an earlier delivery was never settled (the process stopped, the connection dropped or the handler hung)';

/** Starts one consumer on a fresh confirm channel (its retries and dead letters are confirmed publishes). */
export async function startConsumer(connection: ChannelModel, options: ConsumeOptions, context: ConsumerContext): Promise<RunningConsumer> {
  const { logger, events, queues } = context;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const handlerTimeoutMs = options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
  const prefetch = options.prefetch ?? Math.max(1, Math.floor((options.db.options.max ?? DEFAULT_POOL_SIZE) / 2));
  const channel = await connection.createConfirmChannel();
  let stopping = false;
  // Until the consumer runs, a failure is this function's rejection (with the broker's reason), not a restart.
  let started = false;
  channel.on('error', (error: Error) => logger.warn({ err: error, queue: queues.queue }, 'amqp consumer channel error'));
  channel.on('close', () => {
    if (started && !stopping) context.restart(`consumer channel for ${queues.queue} closed`);
  });
  try {
    await declareConsumerQueues(channel, context.exchange, queues, options.queueType ?? 'classic');
    await channel.prefetch(prefetch);
  } catch (error) {
    await channel.close().catch(() => undefined);
    throw error;
  }
  const publish = confirmedPublisher(channel, connection, {
    maxUnconfirmed: 256,
    confirmTimeoutMs: 10_000,
    onBroken: () => void channel.close().catch(() => undefined),
  });
  const inFlight = new Set<Promise<void>>();
  const batches = options.batchHandler && batchWhileBusy(handleBatch, prefetch);

  const move = async (message: ConsumeMessage, queue: string, attempts: number, error: string) => {
    const headers = { ...withoutDeathHeaders(message.properties.headers), 'x-attempts': attempts, 'x-last-error': error, ...originOf(message) };
    const { messageId, correlationId, type, appId, timestamp, contentType } = message.properties;
    await publish(queues.requeue, queue, message.content, {
      messageId: typeof messageId === 'string' ? messageId : randomUUID(),
      ...(typeof correlationId === 'string' && { correlationId }),
      ...(typeof type === 'string' && { type }),
      ...(typeof appId === 'string' && { appId }),
      ...(typeof timestamp === 'number' && { timestamp }),
      contentType: typeof contentType === 'string' ? contentType : 'application/json',
      persistent: true,
      headers,
    });
  };

  async function handle(message: ConsumeMessage): Promise<void> {
    const attempts = previousAttempts(message) + 1;
    let envelope: Envelope | undefined;
    try {
      envelope = parseEnvelope(message.content);
      const key = routingKeyOf(envelope);
      if (!queues.bindings.some((pattern) => matchesBinding(pattern, key))) throw new InvalidEnvelopeError(`${key} is not a type and version this consumer reads`);
    } catch (error) {
      return settle(message, envelope, attempts, error, true);
    }
    // Only a move persists the count: run again as it is, a message that crashes the process or hangs would loop forever.
    if (message.fields.redelivered) return settle(message, envelope, attempts, new Error(REDELIVERED), false);
    return batches ? batches.push({ message, envelope, attempts }) : handleOne({ message, envelope, attempts });
  }

  async function handleBatch(batch: Delivery[]): Promise<void> {
    if (batch.length === 1) return handleOne(batch[0]!);
    try {
      const { handled, after } = await withTransaction(options.db, async (tx) => {
        const fresh = options.dedupe === false ? new Set(batch.map((d) => d.envelope.id.toLowerCase())) : new Set((await tx.query<{ message_id: string }>(
          `INSERT INTO processed_messages (consumer, message_id) SELECT $1, unnest($2::uuid[])
           ON CONFLICT DO NOTHING RETURNING message_id`, [queues.queue, batch.map((d) => d.envelope.id)])).rows.map((row) => row.message_id));
        // A message delivered twice within one batch is handled once (the first copy).
        const first = batch.filter((d) => fresh.delete(d.envelope.id.toLowerCase()));
        const after = first.length > 0 ? await options.batchHandler!(first.map((d) => d.envelope), tx) : undefined;
        return { handled: new Set(first), after };
      }, { timeoutMs: handlerTimeoutMs });
      if (after) await after();
      for (const delivery of batch) {
        ack(delivery.message);
        events.emit('consumed', { queue: queues.queue, envelope: delivery.envelope, duplicate: !handled.has(delivery) });
      }
    } catch (error) {
      logger.debug({ err: error, queue: queues.queue, size: batch.length }, 'message batch failed: handling its messages one by one');
      await Promise.all(batch.map(handleOne));
    }
  }

  async function handleOne({ message, envelope: parsed, attempts }: Delivery): Promise<void> {
    // Handler logs carry the request that caused the message.
    await runWithContext({ requestId: parsed.correlationId }, async () => {
      for (let waits = 0; ; waits++) {
        try {
          const { duplicate, after } = await withTransaction(options.db, async (tx) => {
            if (options.dedupe !== false) {
              const { rowCount } = await tx.query(
                'INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [queues.queue, parsed.id]);
              if (rowCount === 0) return { duplicate: true };
            }
            return { duplicate: false, after: await options.handler(parsed, tx) };
          }, { timeoutMs: handlerTimeoutMs });
          if (after) await after();
          ack(message);
          events.emit('consumed', { queue: queues.queue, envelope: parsed, duplicate });
          return;
        } catch (error) {
          // No connection, or one lost mid-handler (a restart): nothing committed, or the dedupe record makes a
          // redelivery a no-op if COMMIT did land. The message keeps its attempts and waits here.
          if (!isDatabaseUnavailable(error)) return settle(message, parsed, attempts, error, error instanceof InvalidEnvelopeError);
          if (stopping) return requeue(message);
          // A full pool hands out connections in turn: queue again at once. Otherwise Postgres is not answering: back off.
          if (options.db.totalCount >= (options.db.options.max ?? DEFAULT_POOL_SIZE)) continue;
          if (waits === 0) logger.warn({ err: error, queue: queues.queue, messageId: parsed.id }, 'no database connection for a message: waiting');
          await delay(Math.min(CONNECTION_WAIT_MS.max, CONNECTION_WAIT_MS.min * 2 ** waits));
        }
      }
    });
  }

  /** A failed delivery: retry later through the delay queue, or dead-letter it with the error in headers. */
  async function settle(message: ConsumeMessage, envelope: Envelope | undefined, attempts: number, error: unknown, poison: boolean) {
    const reason = describe(error);
    try {
      if (poison || attempts >= maxAttempts) {
        await move(message, queues.deadLetter, attempts, reason);
        ack(message);
        logger.error({ err: error, queue: queues.queue, messageId: envelope?.id, attempts, poison }, 'message dead-lettered');
        events.emit('dead-lettered', { queue: queues.queue, envelope, attempts, error: reason });
      } else if (envelope) {
        const retry = retryQueueFor(queues, attempts);
        await move(message, retry.queue, attempts, reason);
        ack(message);
        logger.warn({ err: error, queue: queues.queue, messageId: envelope.id, attempts, delayMs: retry.delayMs }, 'message handler failed: retrying');
        events.emit('retried', { queue: queues.queue, envelope, attempts, delayMs: retry.delayMs, error: reason });
      }
    } catch (moveError) {
      // Left unacked, the message comes back once the consumer restarts on a fresh channel.
      logger.error({ err: moveError, queue: queues.queue }, 'could not move a failed message');
      context.restart(`moving a failed message from ${queues.queue} failed`);
    }
  }

  function ack(message: ConsumeMessage) {
    try {
      channel.ack(message);
    } catch (error) {
      // The channel is gone: the broker redelivers, and the dedupe record makes that a no-op.
      logger.debug({ err: error, queue: queues.queue }, 'ack on a closed channel');
    }
  }

  function requeue(message: ConsumeMessage) {
    try {
      channel.nack(message, false, true);
    } catch (error) {
      logger.debug({ err: error, queue: queues.queue }, 'nack on a closed channel');
    }
  }

  const consuming = channel.consume(queues.queue, (message) => {
    if (!message) return context.restart(`the broker cancelled the consumer on ${queues.queue}`);
    const running = handle(message).finally(() => inFlight.delete(running));
    inFlight.add(running);
    context.track(running);
  });
  const { consumerTag } = await consuming.catch(async (error: unknown) => {
    await channel.close().catch(() => undefined);
    throw error;
  });
  started = true;

  return {
    async stop() {
      stopping = true;
      await channel.cancel(consumerTag).catch(() => undefined);
      await Promise.allSettled([...inFlight]);
      await channel.close().catch(() => undefined);
    },
  };
}

interface Delivery {
  message: ConsumeMessage;
  envelope: Envelope;
  attempts: number;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function previousAttempts(message: ConsumeMessage): number {
  const value = Number(message.properties.headers?.['x-attempts']);
  return Number.isInteger(value) && value > 0 ? value : 0;
}

function withoutDeathHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers ?? {}).filter(([key]) => !/^x-(first-|last-)?death/.test(key)));
}

/**
 * Where the message was first published, kept across retries (which arrive from the requeue exchange) so a
 * dead letter can be replayed to its original exchange and routing key.
 */
function originOf(message: ConsumeMessage): Record<string, string> {
  const headers = message.properties.headers ?? {};
  if (typeof headers[ORIGINAL_EXCHANGE_HEADER] === 'string') return {};
  return { [ORIGINAL_EXCHANGE_HEADER]: message.fields.exchange, [ORIGINAL_ROUTING_KEY_HEADER]: message.fields.routingKey };
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}
