/**
 * Throughput of the outbox relay and of one consumer, in events/s, against the local Postgres and
 * RabbitMQ (TEST_POSTGRES_URL, TEST_AMQP_URL). Bounded: COUNT events per side, a deadline per side,
 * its own database and a unique topology prefix, both removed at the end.
 *
 *   npm run bench:messaging            (BENCH_COUNT=5000 by default)
 */
import { randomUUID } from 'node:crypto';
import { connectBus, createLogger, createPool, migrate, MESSAGING_MIGRATIONS_DIR, startOutboxRelay, type Envelope } from '../packages/kit/src/index.js';
import { createTestDatabase, deleteTestTopology, eventually, testAmqpUrl, uniquePrefix, withAmqpChannel } from '../packages/kit/src/testing/index.js';

const COUNT = Number(process.env.BENCH_COUNT ?? 5_000);
const DEADLINE_MS = 120_000;
const SERVICE = 'bench';
const TYPE = 'bench.happened';
const KEY = `${TYPE}.v1`;

const logger = createLogger({ service: SERVICE, level: 'error' });
const database = await createTestDatabase('bench');
const db = createPool({ connectionString: database.url, applicationName: 'bench', max: 20 }, logger);
const prefix = uniquePrefix('bench');
const sink = `${prefix}.sink`;
const declared: { queue: string; deadLetter: string; retry: { queue: string; delayMs: number }[] }[] = [];

const envelope = (n: number): Envelope => ({
  id: randomUUID(), type: TYPE, version: 1, occurredAt: new Date().toISOString(), source: SERVICE, correlationId: randomUUID(), payload: { n },
});
const rate = (ms: number) => Math.round(COUNT / (ms / 1000));
/** Wall time gives events/s; this process's CPU time (the relay or consumer, not the servers) gives µs per event. */
const report = (what: string, ms: number, cpu: NodeJS.CpuUsage) =>
  process.stdout.write(`${what}: ${COUNT} events in ${Math.round(ms)} ms = ${rate(ms)} events/s, ${Math.round((cpu.user + cpu.system) / COUNT)} CPU µs/event in this process\n`);

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
  let started = performance.now();
  let cpu = process.cpuUsage();
  const relay = startOutboxRelay({ db, bus, logger });
  await eventually(async () => (await db.query('SELECT 1 FROM outbox WHERE sent_at IS NULL LIMIT 1')).rowCount === 0, DEADLINE_MS, 20);
  report('outbox relay', performance.now() - started, process.cpuUsage(cpu));
  await relay.stop();

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
  started = performance.now();
  cpu = process.cpuUsage();
  await bus.consume({ name: 'bench', bindings: [KEY], db, handler: async (e, tx) => void (await tx.query('INSERT INTO effects (message_id) VALUES ($1)', [e.id])) });
  await done.promise;
  clearTimeout(deadline);
  report('consumer', performance.now() - started, process.cpuUsage(cpu));
  await bus.close();
} finally {
  await withAmqpChannel((channel) => channel.deleteQueue(sink)).catch(() => undefined);
  await deleteTestTopology(prefix, declared).catch(() => undefined);
  await db.end();
  await database.drop();
}
