import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { createEnvelope, enqueue, withTransaction, type Bus, type Envelope } from '../src/index.js';
import { eventually, queueNamesOf, startFaultProxy, type FaultProxy } from '../src/testing/index.js';
import { effectsOf, messagingFixture, SERVICE, withChannel } from './messaging-support.js';

let fixture: Awaited<ReturnType<typeof messagingFixture>>;
let proxy: FaultProxy;

beforeAll(async () => {
  fixture = await messagingFixture('kit_messaging_resilience');
  proxy = await startFaultProxy({ host: '127.0.0.1', port: 5672 });
});
afterEach(() => proxy.restore());
afterAll(async () => {
  await fixture?.cleanup();
  await proxy?.close();
});

const openBusBehindProxy = () => fixture.openBus({ url: proxy.url('amqp', 'guest:guest'), heartbeatSeconds: 2 });

/** A consumer recording each message in `effects` inside its transaction. */
async function recordingConsumer(bus: Bus, name: string, handle: (envelope: Envelope) => Promise<void> = async () => undefined) {
  const queues = await fixture.consume(bus, {
    name,
    bindings: [`${name}.happened.v1`],
    handler: async (envelope, tx) => {
      await handle(envelope);
      await tx.query('INSERT INTO effects (message_id, note) VALUES ($1, $2)', [envelope.id, name]);
    },
  });
  const event = (payload: Record<string, unknown>) => createEnvelope({ source: SERVICE, type: `${name}.happened`, version: 1, payload });
  return { queues, event };
}

async function effectCounts(ids: string[]): Promise<number[]> {
  const { rows } = await fixture.db.query<{ id: string; n: number }>(
    'SELECT id, (SELECT count(*)::int FROM effects WHERE message_id = id) AS n FROM unnest($1::uuid[]) AS id', [ids]);
  return rows.map((row) => row.n);
}

describe('messaging through broker outages', () => {
  test('when the broker is unreachable at start, then the service starts, refuses publishes, and connects and consumes once the broker is back', async () => {
    proxy.cut();
    const bus = await openBusBehindProxy();
    expect(bus.isConnected()).toBe(false);
    expect(bus.state()).toBe('reconnecting');
    const { event } = await recordingConsumer(bus, 'latestart');
    await expect(bus.publish(event({ n: 0 }))).rejects.toMatchObject({ code: 'MESSAGING.NOT_CONNECTED' });

    const connected = bus.waitFor('state', (state) => state === 'connected', 15_000);
    proxy.restore();
    await connected;
    const envelope = event({ n: 1 });
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
    await bus.publish(envelope);
    await consumed;
  });

  test('when the broker is cut and its queues vanish, then on reconnect the topology is declared again and consuming resumes', async () => {
    const bus = await openBusBehindProxy();
    const { queues, event } = await recordingConsumer(bus, 'redeclare');
    const lost = bus.waitFor('state', (state) => state === 'reconnecting');
    proxy.cut();
    await lost;
    await withChannel(async (channel) => {
      for (const name of queueNamesOf(queues)) await channel.deleteQueue(name);
    });

    const connected = bus.waitFor('state', (state) => state === 'connected', 15_000);
    proxy.restore();
    await connected;
    const bound = await withChannel((channel) => channel.checkQueue(queues.queue));
    expect(bound.consumerCount).toBe(1);
    const envelope = event({ n: 1 });
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
    await bus.publish(envelope);
    await consumed;
  });

  test('when events are enqueued while the broker is cut, then the rows stay unsent, and after the restore each is delivered exactly once', async () => {
    const bus = await openBusBehindProxy();
    const { event } = await recordingConsumer(bus, 'outage');
    fixture.relay(bus);
    const lost = bus.waitFor('state', (state) => state === 'reconnecting');
    proxy.cut();
    await lost;

    const envelopes = Array.from({ length: 20 }, (_, n) => event({ n }));
    for (const envelope of envelopes) await withTransaction(fixture.db, (tx) => enqueue(tx, envelope));
    await sleep(1_000); // several relay polls while the broker is away
    const ids = envelopes.map((e) => e.id);
    const { rows } = await fixture.db.query('SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::uuid[]) AND sent_at IS NULL', [ids]);
    expect(rows[0].n).toBe(20);

    proxy.restore();
    await vi.waitFor(async () => expect(await effectCounts(ids)).toEqual(ids.map(() => 1)), { timeout: 20_000, interval: 100 });
    // One more event through the same relay and queue: once it has had its effect, a second delivery of any of the
    // twenty, published or redelivered before it, would have had its chance too.
    const later = event({ n: 'later' });
    await withTransaction(fixture.db, (tx) => enqueue(tx, later));
    await vi.waitFor(async () => expect(await effectCounts([later.id])).toEqual([1]), { timeout: 10_000, interval: 50 });
    expect(await effectCounts(ids)).toEqual(ids.map(() => 1));
    const unsent = await fixture.db.query('SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::uuid[]) AND sent_at IS NULL', [ids]);
    expect(unsent.rows[0].n).toBe(0);
  });

  test('when the broker is cut and restored, then the consumer resumes and nothing is lost', async () => {
    const bus = await openBusBehindProxy();
    const { event } = await recordingConsumer(bus, 'flow', () => sleep(5));
    fixture.relay(bus);
    const envelopes = Array.from({ length: 60 }, (_, n) => event({ n }));
    for (const [n, envelope] of envelopes.entries()) {
      await withTransaction(fixture.db, (tx) => enqueue(tx, envelope));
      if (n === 20) proxy.cut();
      if (n === 40) proxy.restore();
      await sleep(20);
    }
    const ids = envelopes.map((e) => e.id);
    await vi.waitFor(async () => expect(await effectCounts(ids)).toEqual(ids.map(() => 1)), { timeout: 30_000, interval: 200 });
  });

  test('when the bus closes while a handler runs, then the handler finishes and its message is acked, not redelivered', async () => {
    const bus = await fixture.openBus();
    let finished = false;
    const started = Promise.withResolvers<void>();
    const { queues, event } = await recordingConsumer(bus, 'drain', async () => {
      started.resolve();
      await sleep(500);
      finished = true;
    });
    const envelope = event({ n: 1 });
    await bus.publish(envelope);
    await started.promise;

    await bus.close();
    expect(finished).toBe(true);
    expect(bus.state()).toBe('closed');
    expect(await effectsOf(fixture.db, envelope.id)).toEqual(['drain']);
    const queue = await withChannel((channel) => channel.checkQueue(queues.queue));
    expect(queue).toMatchObject({ messageCount: 0, consumerCount: 0 });
  });

  test('when the connection was lost while a handler ran, then closing the bus still waits for that handler', async () => {
    const bus = await openBusBehindProxy();
    const started = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    const order: string[] = [];
    const { event } = await recordingConsumer(bus, 'orphan', async () => {
      started.resolve();
      await release.promise;
      order.push('handler finished');
    });
    await bus.publish(event({ n: 1 }));
    await started.promise;
    const reconnected = bus.waitFor('state', (state) => state === 'connected', 15_000);
    proxy.cut();
    await bus.waitFor('state', (state) => state === 'reconnecting');
    proxy.restore();
    await reconnected;

    const closing = bus.close().then(() => order.push('bus closed'));
    await eventually(() => bus.state() === 'closed');
    release.resolve();
    await closing;
    expect(order).toEqual(['handler finished', 'bus closed']);
  });
});
