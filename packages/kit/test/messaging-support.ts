import amqp from 'amqplib';
import type { Options } from 'amqplib';
import { connectBus, createLogger, createPool, migrate, MESSAGING_MIGRATIONS_DIR, startOutboxRelay, unroutedEvents, type Bus, type BusOptions, type ConsumeOptions, type ConsumerQueues, type OutboxRelayOptions, type Pool } from '../src/index.js';
import { captureLogs, createTestDatabase, testAmqpUrl, uniquePrefix } from '../src/testing/index.js';

export const SERVICE = 'kit-test';

/**
 * One test file's messaging world: a fresh database with the kit's messaging tables, a unique prefix
 * for every exchange and queue, and `cleanup()` that closes everything and deletes what was declared.
 */
export async function messagingFixture(label: string) {
  const database = await createTestDatabase(label);
  const { stream, lines } = captureLogs();
  const logger = createLogger({ service: SERVICE, level: 'debug', destination: stream });
  const db: Pool = createPool({ connectionString: database.url, applicationName: label, max: 20 }, logger);
  await migrate(db, MESSAGING_MIGRATIONS_DIR, logger);
  await db.query('CREATE TABLE effects (message_id uuid NOT NULL, note text)');
  const prefix = uniquePrefix('msg');
  const closers: (() => Promise<unknown>)[] = [];
  const declared: ConsumerQueues[] = [];
  let exchange = '';

  const openBus = async (overrides: Partial<BusOptions> = {}): Promise<Bus> => {
    const bus = await connectBus({ url: testAmqpUrl(), service: SERVICE, logger, prefix, reconnectDelayMs: { min: 100, max: 1_000 }, ...overrides });
    exchange = bus.exchange;
    closers.push(() => bus.close());
    return bus;
  };

  const consume = async (bus: Bus, options: Omit<ConsumeOptions, 'db'>) => {
    const { queues } = await bus.consume({ db, retryDelaysMs: [50, 100], ...options });
    declared.push(queues);
    return queues;
  };

  const relay = (bus: Bus, options: Partial<OutboxRelayOptions> = {}) => {
    const started = startOutboxRelay({ db, bus, logger, pollIntervalMs: 200, retryDelayMs: { min: 100, max: 1_000 }, ...options });
    closers.unshift(() => started.stop());
    return started;
  };

  const cleanup = async () => {
    for (const close of closers) await close();
    await withChannel(async (channel) => {
      for (const q of declared) for (const name of [q.queue, q.deadLetter, ...q.retry.map((r) => r.queue)]) await channel.deleteQueue(name);
      if (exchange) await channel.deleteExchange(exchange);
      await channel.deleteQueue(unroutedEvents(prefix));
      await channel.deleteExchange(unroutedEvents(prefix));
    });
    await db.end();
    await database.drop();
  };

  return { db, logger, lines, prefix, openBus, consume, relay, cleanup };
}

/** A plain channel on the real broker, for what the bus must not do itself: raw publishes, peeking into queues. */
export async function withChannel<T>(work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(testAmqpUrl());
  try {
    const channel = await connection.createChannel();
    return await work(channel);
  } finally {
    await connection.close();
  }
}

/** Publishes bytes the bus would never produce (poison), waiting for the confirm. */
export async function publishRaw(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}) {
  const connection = await amqp.connect(testAmqpUrl());
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(exchange, routingKey, content, { persistent: true, ...options });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Takes every message currently in `queue` (acked: they are removed). */
export function drainQueue(queue: string) {
  return withChannel(async (channel) => {
    const messages: amqp.GetMessage[] = [];
    for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
      channel.ack(message);
      messages.push(message);
    }
    return messages;
  });
}

export async function effectsOf(db: Pool, messageId: string): Promise<string[]> {
  const { rows } = await db.query<{ note: string }>('SELECT note FROM effects WHERE message_id = $1', [messageId]);
  return rows.map((row) => row.note);
}
