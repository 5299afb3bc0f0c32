import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createEnvelope, currentRequestId, unroutedEvents, InvalidEnvelopeError, enqueue, isUniqueViolation, runWithContext, withTransaction, type Bus, type Envelope } from '../src/index.js';
import amqp from 'amqplib';
import { confirmedPublisher } from '../src/messaging/publisher.js';
import { eventually, testAmqpUrl } from '../src/testing/index.js';
import { drainQueue, effectsOf, messagingFixture, publishRaw, SERVICE, withChannel } from './messaging-support.js';

let fixture: Awaited<ReturnType<typeof messagingFixture>>;
let bus: Bus;

beforeAll(async () => {
  fixture = await messagingFixture('kit_messaging');
  bus = await fixture.openBus();
});
afterAll(async () => {
  await fixture?.cleanup();
});

const thing = (payload: Record<string, unknown>, type = 'thing.happened'): Envelope =>
  createEnvelope({ source: SERVICE, type, version: 1, payload });

/** A consumer on its own queue whose handler records each message in `effects`, in the consumer's transaction. */
async function recordingConsumer(name: string, fail: (envelope: Envelope, calls: number) => boolean = () => false, maxAttempts = 3) {
  const calls = new Map<string, number>();
  const queues = await fixture.consume(bus, {
    name,
    bindings: [`${name}.happened.v1`],
    maxAttempts,
    handler: async (envelope, tx) => {
      const count = (calls.get(envelope.id) ?? 0) + 1;
      calls.set(envelope.id, count);
      fixture.logger.info({ messageId: envelope.id }, 'test handler ran');
      await tx.query('INSERT INTO effects (message_id, note) VALUES ($1, $2)', [envelope.id, `${currentRequestId()}`]);
      if (fail(envelope, count)) throw new Error(`handler failed on call ${count}`);
    },
  });
  const event = (payload: Record<string, unknown>) => thing(payload, `${name}.happened`);
  return { queues, calls, event };
}

describe('publishing and consuming', () => {
  test('when an envelope is published, then the consumer gets every field and runs under its correlation id, which also travels as x-request-id', async () => {
    const { queues, event } = await recordingConsumer('roundtrip');
    const probe = await withChannel(async (channel) => channel.checkQueue(queues.queue));
    expect(probe.consumerCount).toBe(1);
    const envelope = runWithContext({ requestId: 'req-roundtrip-1' }, () => event({ n: 1, text: 'héllo' }));
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);

    await bus.publish(envelope);

    expect(await consumed).toEqual({ queue: queues.queue, envelope, duplicate: false });
    expect(envelope).toMatchObject({ type: 'roundtrip.happened', version: 1, source: SERVICE, correlationId: 'req-roundtrip-1' });
    expect(await effectsOf(fixture.db, envelope.id)).toEqual(['req-roundtrip-1']);
    expect(fixture.lines).toContainEqual(expect.objectContaining({ msg: 'test handler ran', messageId: envelope.id, requestId: 'req-roundtrip-1' }));
  });

  test('when an envelope is published, then the AMQP message carries routing key <type>.v<version>, the request id header and persistence', async () => {
    const envelope = runWithContext({ requestId: 'req-headers-1' }, () => thing({ n: 2 }, 'headers.checked'));
    const message = await withChannel(async (channel) => {
      const { queue } = await channel.assertQueue('', { exclusive: true });
      await channel.bindQueue(queue, bus.exchange, 'headers.checked.v1');
      await bus.publish(envelope);
      return vi.waitFor(async () => (await channel.get(queue, { noAck: true })) || Promise.reject(new Error('not yet')));
    });
    expect(message.fields.routingKey).toBe('headers.checked.v1');
    expect(message.properties).toMatchObject({
      messageId: envelope.id, correlationId: 'req-headers-1', contentType: 'application/json', deliveryMode: 2, headers: { 'x-request-id': 'req-headers-1' },
    });
    expect(JSON.parse(message.content.toString())).toEqual(envelope);
  });

  test('when nobody subscribes to an event, then the publish succeeds and the event is parked, not lost', async () => {
    const envelope = thing({ n: 3 }, 'nobody.listens');
    await bus.publish(envelope);
    const parked = await drainQueue(unroutedEvents(fixture.prefix));
    expect(parked.map((m) => (JSON.parse(m.content.toString('utf8')) as Envelope).id)).toContain(envelope.id);
  });

  test('when even the parking queue is gone, then the mandatory publish is rejected as unroutable, not acked', async () => {
    await withChannel((channel) => channel.deleteQueue(unroutedEvents(fixture.prefix)));
    const envelope = thing({ n: 4 }, 'nobody.listens');
    const nacked = bus.waitFor('nacked', (n) => n.envelope.id === envelope.id);
    let acked = false;
    bus.on('acked', (e) => (acked ||= e.id === envelope.id));

    await expect(bus.publish(envelope)).rejects.toMatchObject({ code: 'MESSAGING.UNROUTABLE', status: 503 });
    expect((await nacked).error.code).toBe('MESSAGING.UNROUTABLE');
    expect(acked).toBe(false);
  });

  test('when a publish with a 300-byte type is followed by a normal one, then the first is refused as invalid and the second is confirmed and consumed', async () => {
    const { event } = await recordingConsumer('afterlong');
    const tooLong = { ...event({ n: 0 }), type: `afterlong.${'x'.repeat(300)}` };
    await expect(bus.publish(tooLong)).rejects.toMatchObject({ code: 'MESSAGING.INVALID', status: 500 });

    const next = event({ n: 1 });
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === next.id);
    await bus.publish(next);
    await consumed;
  });

  test('when amqplib throws while encoding a publish, then that publish fails, the channel is handed back for replacement and never used again', async () => {
    const connection = await amqp.connect(testAmqpUrl());
    try {
      const channel = await connection.createConfirmChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      const broken = Promise.withResolvers<unknown>();
      const publish = confirmedPublisher(channel, connection, { maxUnconfirmed: 10, confirmTimeoutMs: 2_000, onBroken: broken.resolve });
      const unencodable = { messageId: randomUUID(), headers: { bad: { '!': 'no-such-type', value: 1 } } };

      await expect(publish('', queue, Buffer.from('{}'), unencodable)).rejects.toMatchObject({ code: 'MESSAGING.INVALID' });
      expect(String(await broken.promise)).toContain('Unknown type');
      await expect(publish('', queue, Buffer.from('{}'), { messageId: randomUUID() })).rejects.toMatchObject({ code: 'MESSAGING.CHANNEL_CLOSED' });
      expect(await channel.checkQueue(queue)).toMatchObject({ messageCount: 0 });
    } finally {
      await connection.close();
    }
  });

  test('when a bus event listener throws after the ack, then the message is neither re-routed nor acked twice and the connection stays up', async () => {
    const { queues, calls, event } = await recordingConsumer('listener');
    const first = event({ n: 1 });
    const second = event({ n: 2 });
    const throwing = (c: { envelope: Envelope }) => {
      if (c.envelope.id === first.id) throw new Error('listener bug');
    };
    const states: string[] = [];
    const retried: string[] = [];
    bus.on('consumed', throwing);
    bus.on('state', (state) => states.push(state));
    bus.on('retried', (r) => retried.push(r.envelope.id));
    const consumedFirst = bus.waitFor('consumed', (c) => c.envelope.id === first.id);
    const consumedSecond = bus.waitFor('consumed', (c) => c.envelope.id === second.id);

    await bus.publish(first);
    await consumedFirst;
    await bus.publish(second);
    await consumedSecond;
    bus.off('consumed', throwing);

    await eventually(() => fixture.lines.some((l) => l.msg === 'bus event listener threw' && l.event === 'consumed'));
    expect(states).toEqual([]);
    expect(retried).toEqual([]);
    expect(calls.get(first.id)).toBe(1);
    expect(await withChannel((channel) => channel.checkQueue(queues.queue))).toMatchObject({ messageCount: 0, consumerCount: 1 });
  });

  test('when many envelopes are published at once, then all are confirmed', async () => {
    const { event } = await recordingConsumer('window');
    const envelopes = Array.from({ length: 500 }, (_, n) => event({ n }));
    await Promise.all(envelopes.map((e) => bus.publish(e)));
    await vi.waitFor(async () => {
      const { rows } = await fixture.db.query('SELECT count(*)::int AS n FROM effects WHERE message_id = ANY($1::uuid[])', [envelopes.map((e) => e.id)]);
      expect(rows[0].n).toBe(500);
    }, { timeout: 15_000, interval: 100 });
  });
});

describe('consumer delivery guarantees', () => {
  test('when the same envelope is delivered twice, then the handler runs once and the duplicate is acked', async () => {
    const { calls, event } = await recordingConsumer('dedupe');
    const envelope = event({ n: 1 });
    const seen: boolean[] = [];
    const both = new Promise<void>((resolve) => bus.on('consumed', (c) => {
      if (c.envelope.id === envelope.id && seen.push(c.duplicate) === 2) resolve();
    }));

    await bus.publish(envelope);
    await bus.publish(envelope);
    await both;

    expect(seen.sort()).toEqual([false, true]);
    expect(calls.get(envelope.id)).toBe(1);
    expect(await effectsOf(fixture.db, envelope.id)).toHaveLength(1);
  });

  test('when the handler fails twice and then succeeds, then the message is retried with growing delays and processed once', async () => {
    const { calls, event } = await recordingConsumer('flaky', (_e, count) => count <= 2, 5);
    const envelope = event({ n: 1 });
    const retries: { attempts: number; delayMs: number }[] = [];
    bus.on('retried', (r) => r.envelope.id === envelope.id && retries.push({ attempts: r.attempts, delayMs: r.delayMs }));
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id && !c.duplicate);

    await bus.publish(envelope);
    await consumed;

    expect(retries).toEqual([{ attempts: 1, delayMs: 50 }, { attempts: 2, delayMs: 100 }]);
    expect(calls.get(envelope.id)).toBe(3);
    expect(await effectsOf(fixture.db, envelope.id)).toHaveLength(1);
  });

  test('when the handler always fails, then after maxAttempts the message is in the DLQ with the error in headers while later messages flow', async () => {
    const { queues, calls, event } = await recordingConsumer('doomed', (e) => e.payload !== null && (e.payload as { fail?: boolean }).fail === true, 3);
    const doomed = event({ fail: true });
    const fine = Array.from({ length: 5 }, (_, n) => event({ n }));
    const deadLettered = bus.waitFor('dead-lettered', (d) => d.envelope?.id === doomed.id);
    const allFine = Promise.all(fine.map((e) => bus.waitFor('consumed', (c) => c.envelope.id === e.id)));

    await bus.publish(doomed);
    for (const e of fine) await bus.publish(e);

    expect(await deadLettered).toMatchObject({ queue: queues.queue, attempts: 3, error: 'Error: handler failed on call 3' });
    await allFine;
    expect(calls.get(doomed.id)).toBe(3);
    expect(await effectsOf(fixture.db, doomed.id)).toEqual([]);
    const [dead, ...rest] = await drainQueue(queues.deadLetter);
    expect(rest).toEqual([]);
    expect(JSON.parse(dead!.content.toString())).toEqual(doomed);
    expect(dead!.properties.headers).toMatchObject({ 'x-attempts': 3, 'x-last-error': 'Error: handler failed on call 3', 'x-request-id': doomed.correlationId });
  });

  test.each([
    ['a body that is not JSON', () => Buffer.from('{"id": nope')],
    ['an envelope nested too deep', () => Buffer.from(JSON.stringify({ ...thing({}, 'poison.happened'), payload: JSON.parse('['.repeat(40) + ']'.repeat(40)) }))],
    ['an envelope with a __proto__ key', () => Buffer.from(JSON.stringify(thing({}, 'poison.happened')).replace('"payload":{}', '"payload":{"__proto__":{"admin":true}}'))],
    ['a version the consumer does not read', () => Buffer.from(JSON.stringify({ ...thing({}, 'poison.happened'), version: 9 }))],
    ['an envelope without an id', () => Buffer.from(JSON.stringify({ ...thing({}, 'poison.happened'), id: undefined }))],
  ])('when a poison message arrives (%s), then it goes straight to the DLQ and the consumer keeps consuming', async (_case, body) => {
    const { queues, calls, event } = await recordingConsumer(`poison${randomUUID().slice(0, 8)}`);
    const deadLettered = bus.waitFor('dead-lettered', (d) => d.queue === queues.queue);
    await publishRaw(bus.exchange, queues.bindings[0]!, body());
    expect(await deadLettered).toMatchObject({ attempts: 1, error: expect.stringContaining('InvalidEnvelopeError') });

    const after = event({ n: 1 });
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === after.id);
    await bus.publish(after);
    await consumed;
    expect(calls.size).toBe(1);
    const dead = await drainQueue(queues.deadLetter);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.properties.headers).toMatchObject({ 'x-attempts': 1, 'x-last-error': expect.stringContaining('InvalidEnvelopeError') });
  });

  test('when a handler swallows a unique violation, then the message is retried and dead-lettered, never acked as consumed', async () => {
    await fixture.db.query("CREATE TABLE names (name text PRIMARY KEY); INSERT INTO names VALUES ('taken')");
    const queues = await fixture.consume(bus, {
      name: 'swallower',
      bindings: ['swallower.happened.v1'],
      maxAttempts: 2,
      handler: async (envelope, tx) => {
        await tx.query('INSERT INTO effects (message_id, note) VALUES ($1, $2)', [envelope.id, 'swallower']);
        await tx.query("INSERT INTO names VALUES ('taken')").catch((error: unknown) => {
          if (!isUniqueViolation(error)) throw error;
        });
      },
    });
    const envelope = thing({}, 'swallower.happened');
    const consumed: string[] = [];
    bus.on('consumed', (c) => consumed.push(c.envelope.id));
    const deadLettered = bus.waitFor('dead-lettered', (d) => d.envelope?.id === envelope.id);

    await bus.publish(envelope);

    expect(await deadLettered).toMatchObject({ queue: queues.queue, attempts: 2, error: expect.stringContaining('TransactionAbortedError') });
    expect(consumed).not.toContain(envelope.id);
    expect(await effectsOf(fixture.db, envelope.id)).toEqual([]);
    expect((await fixture.db.query('SELECT 1 FROM processed_messages WHERE message_id = $1', [envelope.id])).rowCount).toBe(0);
  });

  test('when the handler rejects the payload as invalid, then the message is dead-lettered without retries', async () => {
    const queues = await fixture.consume(bus, {
      name: 'strict',
      bindings: ['strict.happened.v1'],
      handler: async () => {
        throw new InvalidEnvelopeError('payload.userId is missing');
      },
    });
    const envelope = thing({}, 'strict.happened');
    const deadLettered = bus.waitFor('dead-lettered', (d) => d.envelope?.id === envelope.id);
    await bus.publish(envelope);
    expect(await deadLettered).toMatchObject({ queue: queues.queue, attempts: 1, error: 'InvalidEnvelopeError: payload.userId is missing' });
  });
});

describe('transactional outbox', () => {
  test('when the enqueuing transaction rolls back, then nothing is published; when it commits, then the event is published exactly once', async () => {
    const { calls, event } = await recordingConsumer('outbox');
    fixture.relay(bus);
    const rolledBack = event({ n: 'rolled back' });
    const committed = event({ n: 'committed' });
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === committed.id);
    const acked: string[] = [];
    bus.on('acked', (e) => acked.push(e.id));

    await expect(withTransaction(fixture.db, async (tx) => {
      await enqueue(tx, rolledBack);
      throw new Error('domain change failed');
    })).rejects.toThrow('domain change failed');
    await withTransaction(fixture.db, (tx) => enqueue(tx, committed));

    expect((await consumed).envelope).toEqual(committed);
    // The relay publishes in commit order and confirms arrive in publish order: once a later row's publish is
    // confirmed, a second publish of `committed` would have been confirmed too.
    const later = event({ n: 'later' });
    const laterAcked = bus.waitFor('acked', (e) => e.id === later.id);
    await withTransaction(fixture.db, (tx) => enqueue(tx, later));
    await laterAcked;
    expect(acked.filter((id) => id === committed.id)).toHaveLength(1);
    expect(acked).not.toContain(rolledBack.id);
    expect(calls.get(committed.id)).toBe(1);
    const { rows } = await fixture.db.query('SELECT id, sent_at, attempts FROM outbox WHERE id = ANY($1::uuid[])', [[committed.id, rolledBack.id]]);
    expect(rows).toEqual([{ id: committed.id, sent_at: expect.any(Date), attempts: 1 }]);
  });
});
