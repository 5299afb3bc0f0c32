/**
 * Throughput of the outbox relay next to windowed raw confirmed publishing of the same envelopes to the same
 * exchange (amqplib alone, at most WINDOW confirms outstanding), and of one consumer, in events/s, against
 * the local Postgres and RabbitMQ. Bounded: COUNT events per side, a deadline per side, its own database and
 * a unique topology prefix, both removed at the end.
 *
 *   npm run bench -- messaging            (BENCH_COUNT=5000 by default)
 */
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { connectBus, createLogger, createPool, migrate, MESSAGING_MIGRATIONS_DIR, startOutboxRelay, type Envelope } from '../packages/kit/src/index.js';
import { createTestDatabase, deleteTestTopology, eventually, testAmqpUrl, uniquePrefix, withAmqpChannel } from '../packages/kit/src/testing/index.js';
import { ratio, type SuiteResult } from './support/report.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 5_000);
const WINDOW = 1_000; // the kit's publisher window (maxUnconfirmed)
const DEADLINE_MS = 120_000;
const SERVICE = 'bench';
const TYPE = 'bench.happened';
const KEY = `${TYPE}.v1`;

interface Throughput {
  eventsPerSec: number;
  /** CPU µs per event of this process (the relay, publisher or consumer; not the servers). */
  cpuMicros: number;
}

const envelope = (n: number): Envelope => ({
  id: randomUUID(), type: TYPE, version: 1, occurredAt: new Date().toISOString(), source: SERVICE, correlationId: randomUUID(), payload: { n },
});

async function timed(what: string, work: () => Promise<void>): Promise<Throughput> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const result = { eventsPerSec: Math.round(COUNT / (ms / 1000)), cpuMicros: Math.round((used.user + used.system) / COUNT) };
  process.stdout.write(`  ${what}: ${COUNT} events in ${Math.round(ms)} ms = ${result.eventsPerSec} events/s, ${result.cpuMicros} CPU µs/event in this process\n`);
  return result;
}

export async function run(): Promise<SuiteResult> {
  const logger = createLogger({ service: SERVICE, level: 'error' });
  const database = await createTestDatabase('bench');
  const db = createPool({ connectionString: database.url, applicationName: 'bench', max: 20 }, logger);
  const prefix = uniquePrefix('bench');
  const sink = `${prefix}.sink`;
  const declared: { queue: string; deadLetter: string; retry: { queue: string; delayMs: number }[] }[] = [];
  try {
    await migrate(db, MESSAGING_MIGRATIONS_DIR, logger);
    await db.query('CREATE TABLE effects (message_id uuid PRIMARY KEY)');
    const bus = await connectBus({ url: testAmqpUrl(), service: SERVICE, logger, prefix });
    await withAmqpChannel(async (channel) => {
      await channel.assertQueue(sink, { durable: false });
      await channel.bindQueue(sink, bus.exchange, KEY);
    });

    // Outbox relay: rows committed beforehand, timed from the relay's start until every row is sent.
    const rows = Array.from({ length: COUNT }, (_, n) => envelope(n));
    await db.query(
      `INSERT INTO outbox (id, type, version, source, payload, correlation_id, occurred_at)
       SELECT id, $2, 1, $3, jsonb_build_object('n', n), id::text, now() FROM unnest($1::uuid[]) WITH ORDINALITY AS r(id, n)`,
      [rows.map((r) => r.id), TYPE, SERVICE]);
    let relay: { stop: () => Promise<void> } | undefined;
    const outbox = await timed('outbox relay', async () => {
      relay = startOutboxRelay({ db, bus, logger });
      await eventually(async () => (await db.query('SELECT 1 FROM outbox WHERE sent_at IS NULL LIMIT 1')).rowCount === 0, DEADLINE_MS, 20);
    });
    await relay?.stop();
    const raw = await timed(`raw confirmed publish, window ${WINDOW}`, () => rawPublish(bus.exchange, rows));

    // Consumer: the queue is declared and filled first, then timed from consume() until the last message is handled.
    const filler = await connectBus({ url: testAmqpUrl(), service: SERVICE, logger, prefix });
    const { queues } = await filler.consume({ name: 'bench', bindings: [KEY], db, handler: async () => undefined });
    declared.push(queues);
    await filler.close();
    await Promise.all(Array.from({ length: COUNT }, (_, n) => bus.publish(envelope(n))));
    let consumed = 0;
    const done = Promise.withResolvers<void>();
    bus.on('consumed', () => {
      if (++consumed === COUNT) done.resolve();
    });
    const deadline = setTimeout(() => done.reject(new Error(`only ${consumed} of ${COUNT} consumed within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    const consumer = await timed('consumer', async () => {
      await bus.consume({ name: 'bench', bindings: [KEY], db, handler: async (e, tx) => void (await tx.query('INSERT INTO effects (message_id) VALUES ($1)', [e.id])) });
      await done.promise;
    });
    clearTimeout(deadline);
    await bus.close();
    const share = ratio(outbox.eventsPerSec, raw.eventsPerSec);
    return {
      name: 'messaging',
      markdown: [
        `${COUNT} events per side.`,
        '',
        '| path | events/s | ratio | CPU µs/event (this process) |',
        '|---|---|---|---|',
        `| outbox relay (rows committed beforehand → confirmed, marked sent) | ${outbox.eventsPerSec} | ${share} of raw | ${outbox.cpuMicros} |`,
        `| raw amqplib confirmed publish, window ${WINDOW} | ${raw.eventsPerSec} | 1 | ${raw.cpuMicros} |`,
        `| consumer (dedupe + an effect row per event, in one transaction) | ${consumer.eventsPerSec} | | ${consumer.cpuMicros} |`,
      ],
      targets: [{ what: 'outbox relay, of windowed raw publish', value: share, goal: '≥ 0.50', met: share >= 0.5,
        limit: 'the relay claims and marks rows in Postgres per batch (same cores) besides publishing' }],
      data: { count: COUNT, window: WINDOW, outbox, raw, consumer },
    };
  } finally {
    await withAmqpChannel((channel) => channel.deleteQueue(sink)).catch(() => undefined);
    await deleteTestTopology(prefix, declared).catch(() => undefined);
    await db.end();
    await database.drop();
  }
}

/** The envelopes as the bus sends them (persistent JSON, mandatory), at most WINDOW awaiting their confirm. */
async function rawPublish(exchange: string, envelopes: Envelope[]): Promise<void> {
  const connection = await amqp.connect(testAmqpUrl(), { noDelay: true });
  try {
    const channel = await connection.createConfirmChannel();
    let outstanding = 0;
    let next = 0;
    let confirmed = 0;
    const done = Promise.withResolvers<void>();
    const pump = () => {
      while (outstanding < WINDOW && next < envelopes.length) {
        const e = envelopes[next++]!;
        outstanding++;
        channel.publish(exchange, KEY, Buffer.from(JSON.stringify(e)), {
          persistent: true, mandatory: true, contentType: 'application/json', messageId: e.id, type: e.type, correlationId: e.correlationId,
        }, (error) => {
          if (error) return done.reject(error);
          outstanding--;
          if (++confirmed === envelopes.length) done.resolve();
          else pump();
        });
      }
    };
    pump();
    await done.promise;
  } finally {
    await connection.close();
  }
}
