import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectBus, createEnvelope, createLogger, createPool, migrate, MESSAGING_MIGRATIONS_DIR } from '../src/index.js';
import { createTestDatabase } from '../src/testing/database.js';
import { testAmqpUrl, uniquePrefix } from '../src/testing/env.js';
import { eventually } from '../src/testing/process.js';
import { startPrivateRabbitMq, type PrivateRabbitMq } from '../src/testing/private-rabbitmq.js';

/** A connection whose `closed` settles when the broker goes away. */
async function connect(url: string) {
  const connection = await amqp.connect(url);
  connection.on('error', () => undefined); // the broker going away: what these tests cause
  const closed = new Promise((resolve) => connection.once('close', resolve));
  return { connection, closed };
}

// One broker for the whole file: each RabbitMQ start takes seconds.
describe('private RabbitMQ', () => {
  let broker: PrivateRabbitMq;
  beforeAll(async () => {
    broker = await startPrivateRabbitMq();
  }, 60_000);
  afterAll(() => broker?.remove());

  test('when the broker blocks publishers (memory alarm), then publishes fail fast (BLOCKED ones are never sent), the consumer still acks on its own connection, and publishing resumes once the alarm clears', async () => {
    const database = await createTestDatabase('blocked');
    const logger = createLogger({ service: 'kit-test', level: 'silent' });
    const db = createPool({ connectionString: database.url, applicationName: 'blocked' }, logger);
    await migrate(db, MESSAGING_MIGRATIONS_DIR, logger);
    const bus = await connectBus({ url: broker.url, service: 'kit-test', logger, prefix: uniquePrefix('blocked'), confirmTimeoutMs: 1_500 });
    let release = () => undefined as void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const consumed: number[] = [];
    const event = (n: number) => createEnvelope({ source: 'kit-test', type: 'probe.happened', version: 1, payload: { n } });
    try {
      const { queues } = await bus.consume({
        name: 'blocked', bindings: ['probe.happened.v1'], db,
        handler: async (envelope) => {
          const { n } = envelope.payload as { n: number };
          if (n === 2) await gate;
          consumed.push(n);
        },
      });
      await bus.publish(event(1));
      await eventually(() => consumed.includes(1), 10_000);
      const second = bus.waitFor('consumed', (c) => (c.envelope.payload as { n: number }).n === 2);
      await bus.publish(event(2)); // delivered, its handler held at the gate

      await broker.ctl('set_vm_memory_high_watermark', 'absolute', '1');
      // The broker blocks a connection when it next publishes: that first message is written but its outcome
      // stays unknown (a confirm timeout; the outbox would retry it, consumers dedupe). From then on the bus
      // knows it is blocked and writes nothing: those publishes fail as BLOCKED and are never sent.
      const refused: number[] = [];
      for (let n = 3; refused.length === 0 && n < 13; n++) {
        const startedAt = Date.now();
        const error = await bus.publish(event(n)).then(() => undefined, (e: unknown) => e as { code: string });
        expect(error?.code, `publish ${n}`).toMatch(/^MESSAGING\.(CONFIRM_TIMEOUT|BLOCKED)$/);
        expect(Date.now() - startedAt).toBeLessThan(5_000);
        if (error?.code === 'MESSAGING.BLOCKED') refused.push(n);
      }
      expect(refused).toHaveLength(1);
      release();
      await second; // acked while publishing is blocked

      await broker.ctl('set_vm_memory_high_watermark', '0.4');
      await eventually(async () => bus.publish(event(100)).then(() => true, () => false), 15_000, 200);
      await eventually(() => consumed.includes(100), 10_000);
      expect(consumed.filter((n) => refused.includes(n))).toEqual([]);
      await bus.close();
      // Nothing went back to the queue when the consumer closed: its acks reached the broker.
      const check = await connect(broker.url);
      const channel = await check.connection.createChannel();
      expect(await channel.checkQueue(queues.queue)).toMatchObject({ messageCount: 0 });
      await check.connection.close();
    } finally {
      release();
      await bus.close();
      await db.end();
      await database.drop();
    }
  }, 60_000);

  test('when it is killed, then clients lose it and the shared broker does not; a restart takes connections again, and a stop ends them', async () => {
    const before = await connect(broker.url);

    await broker.kill();

    await before.closed;
    await expect(amqp.connect(broker.url)).rejects.toThrow(/ECONNREFUSED/);
    const shared = await amqp.connect(testAmqpUrl());
    await shared.close();

    await broker.restart();
    const after = await connect(broker.url);
    const channel = await after.connection.createChannel();
    await expect(channel.assertQueue('', { exclusive: true })).resolves.toMatchObject({ messageCount: 0 });

    await broker.stop();

    await after.closed;
    await expect(amqp.connect(broker.url)).rejects.toThrow(/ECONNREFUSED/);
  }, 60_000);
});
