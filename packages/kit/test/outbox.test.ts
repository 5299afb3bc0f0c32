import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEnvelope, enqueue, withTransaction, type Bus, type Envelope } from '../src/index.js';
import { eventually } from '../src/testing/index.js';
import { effectsOf, messagingFixture, SERVICE } from './messaging-support.js';

let fixture: Awaited<ReturnType<typeof messagingFixture>>;
let bus: Bus;

beforeAll(async () => {
  fixture = await messagingFixture('kit_outbox');
  bus = await fixture.openBus();
});
afterAll(async () => {
  await fixture?.cleanup();
});

const event = (name: string, payload: Record<string, unknown> = {}): Envelope => createEnvelope({ source: SERVICE, type: `${name}.happened`, version: 1, payload });
const outboxRow = async (id: string) => (await fixture.db.query('SELECT attempts, sent_at, parked_at, last_error FROM outbox WHERE id = $1', [id])).rows[0];

describe('outbox relay', () => {
  test('when a row is refused maxAttempts times, then it is parked, logged and counted, and no longer tried', async () => {
    const registry = new Registry();
    const relay = fixture.relay(bus, { maxAttempts: 2, retryDelayMs: { min: 20, max: 50 }, registry });
    const task = event('unclaimed');
    await withTransaction(fixture.db, (tx) => enqueue(tx, task, { exchange: 'tasks' }));

    const parked = await eventually(async () => (await outboxRow(task.id))?.parked_at && outboxRow(task.id));
    expect(parked).toMatchObject({ attempts: 2, sent_at: null, last_error: expect.stringContaining('UNROUTABLE') });
    expect(fixture.lines).toContainEqual(expect.objectContaining({ msg: expect.stringContaining('outbox row parked'), outboxId: task.id }));
    expect(await registry.getSingleMetricAsString('outbox_parked_rows')).toMatch(/outbox_parked_rows 1$/m);
    await relay.stop();
  });

  test('when rows wait unsent, then the backlog and the age of the oldest are exported, and both fall to 0 once they are sent', async () => {
    const registry = new Registry();
    const waiting = [event('backlog'), event('backlog')];
    for (const row of waiting) await withTransaction(fixture.db, (tx) => enqueue(tx, row));
    // Not due for an hour: they wait as they would with every relay down, the oldest for 90 s.
    await fixture.db.query("UPDATE outbox SET next_attempt_at = now() + interval '1 hour' WHERE id = ANY($1::uuid[])", [waiting.map((row) => row.id)]);
    await fixture.db.query("UPDATE outbox SET occurred_at = now() - interval '90 seconds' WHERE id = $1", [waiting[0]!.id]);
    const relay = fixture.relay(bus, { registry, pollIntervalMs: 50 });
    const value = async (name: string) => Number(/ ([\d.e+-]+)$/m.exec(await registry.getSingleMetricAsString(name))?.[1]);
    expect(await value('outbox_pending_rows')).toBeGreaterThanOrEqual(2);
    expect(await value('outbox_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(90);

    await fixture.db.query('UPDATE outbox SET next_attempt_at = now() WHERE id = ANY($1::uuid[])', [waiting.map((row) => row.id)]);
    await eventually(async () => (await value('outbox_pending_rows')) === 0);
    expect(await value('outbox_oldest_pending_age_seconds')).toBe(0);
    await relay.stop();
  });

  test('when a row can never be published (its type is too long for a routing key), then it is parked at once', async () => {
    const relay = fixture.relay(bus);
    const tooLong = { ...event('toolong'), type: `toolong.${'x'.repeat(300)}` };
    await withTransaction(fixture.db, (tx) => enqueue(tx, tooLong));

    expect(await eventually(async () => (await outboxRow(tooLong.id))?.parked_at && outboxRow(tooLong.id))).toMatchObject({ attempts: 1, last_error: expect.stringContaining('INVALID') });
    await relay.stop();
  });

  test('when a task is enqueued, then the relay publishes it to the tasks exchange and its consumer gets it', async () => {
    await fixture.consume(bus, {
      name: 'outbox-worker',
      bindings: ['job.happened.v1'],
      exchange: 'tasks',
      handler: async (envelope, tx) => void (await tx.query('INSERT INTO effects (message_id, note) VALUES ($1, $2)', [envelope.id, 'task'])),
    });
    const relay = fixture.relay(bus);
    const task = event('job');
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === task.id);
    await withTransaction(fixture.db, (tx) => enqueue(tx, task, { exchange: 'tasks' }));
    await consumed;
    expect(await effectsOf(fixture.db, task.id)).toEqual(['task']);
    await relay.stop();
  });

  test('when a row holding a secret is relayed, then it is deleted once confirmed while an ordinary row stays as sent', async () => {
    await fixture.consume(bus, { name: 'outbox-secret', bindings: ['secret.happened.v1'], exchange: 'tasks', handler: async () => undefined });
    const relay = fixture.relay(bus);
    const [secret, ordinary] = [event('secret', { link: 'https://example.test/#token=abc' }), event('ordinary')];
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === secret.id);
    await withTransaction(fixture.db, async (tx) => {
      await enqueue(tx, secret, { exchange: 'tasks', deleteWhenSent: true });
      await enqueue(tx, ordinary);
    });
    expect((await consumed).envelope.payload).toEqual({ link: 'https://example.test/#token=abc' });
    await eventually(async () => (await outboxRow(ordinary.id))?.sent_at);
    expect(await outboxRow(secret.id)).toBeUndefined();
    await relay.stop();
  });

  test('when the relay sleeps, then a commit wakes it at once through NOTIFY, with no poll to fall back on', async () => {
    const relay = fixture.relay(bus, { pollIntervalMs: 60_000 });
    await eventually(async () => (await fixture.db.query('SELECT waiting FROM outbox_relay_wakeup')).rows[0]?.waiting === true);
    const envelope = event('wakeup');
    const acked = bus.waitFor('acked', (e) => e.id === envelope.id, 5_000);
    await withTransaction(fixture.db, (tx) => enqueue(tx, envelope));
    await acked;
    await relay.stop();
  });

  test('when sent rows and dedupe records are older than the retention, then they are pruned in batches and newer ones stay', async () => {
    const [oldSent, newSent, oldProcessed, newProcessed] = [event('old'), event('new'), event('old'), event('new')];
    for (const e of [oldSent, newSent]) await withTransaction(fixture.db, (tx) => enqueue(tx, e));
    await fixture.db.query("UPDATE outbox SET sent_at = now() - CASE WHEN id = $1 THEN interval '2 days' ELSE interval '1 minute' END WHERE id = ANY($2::uuid[])", [oldSent.id, [oldSent.id, newSent.id]]);
    await fixture.db.query(
      "INSERT INTO processed_messages (consumer, message_id, processed_at) VALUES ('prune-test', $1, now() - interval '2 days'), ('prune-test', $2, now())",
      [oldProcessed.id, newProcessed.id]);

    const relay = fixture.relay(bus, { retentionMs: { sent: 86_400_000, processed: 86_400_000 }, pruneIntervalMs: 100 });
    await eventually(async () => (await fixture.db.query('SELECT 1 FROM outbox WHERE id = $1', [oldSent.id])).rowCount === 0
      && (await fixture.db.query('SELECT 1 FROM processed_messages WHERE message_id = $1', [oldProcessed.id])).rowCount === 0);
    expect((await fixture.db.query('SELECT 1 FROM outbox WHERE id = $1', [newSent.id])).rowCount).toBe(1);
    expect((await fixture.db.query('SELECT 1 FROM processed_messages WHERE message_id = $1', [newProcessed.id])).rowCount).toBe(1);
    await relay.stop();
  });
});
