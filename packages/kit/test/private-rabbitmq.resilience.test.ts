import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testAmqpUrl } from '../src/testing/env.js';
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
