import type amqp from 'amqplib';
import { connectBus, createLogger, createPool, migrate, MESSAGING_MIGRATIONS_DIR, startOutboxRelay, type Bus, type BusOptions, type ConsumeOptions, type ConsumerQueues, type OutboxRelayOptions, type Pool } from '../src/index.js';
import { captureLogs, createTestDatabase, deleteTestTopology, testAmqpUrl, uniquePrefix, withAmqpChannel as withChannel } from '../src/testing/index.js';

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

  const openBus = async (overrides: Partial<BusOptions> = {}): Promise<Bus> => {
    const bus = await connectBus({ url: testAmqpUrl(), service: SERVICE, logger, prefix, reconnectDelayMs: { min: 100, max: 1_000 }, ...overrides });
    closers.push(() => bus.close());
    return bus;
  };

  const consume = async (bus: Bus, options: Omit<ConsumeOptions, 'db'> & { db?: Pool }) => {
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
    await deleteTestTopology(prefix, declared);
    await db.end();
    await database.drop();
  };

  return { db, url: database.url, logger, lines, prefix, openBus, consume, relay, cleanup };
}

export { publishRaw, withAmqpChannel as withChannel } from '../src/testing/index.js';


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
