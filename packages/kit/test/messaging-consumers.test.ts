import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { busReadinessCheck, createEnvelope, createPool, InvalidEnvelopeError, type Bus, type ConsumeOptions, type Envelope, type Pool } from '../src/index.js';
import { eventually } from '../src/testing/index.js';
import { effectsOf, messagingFixture, SERVICE, withChannel } from './messaging-support.js';

let fixture: Awaited<ReturnType<typeof messagingFixture>>;
let bus: Bus;
const pools: Pool[] = [];

beforeAll(async () => {
  fixture = await messagingFixture('kit_consumers');
  bus = await fixture.openBus({ consumerRetryDelayMs: { min: 100, max: 200 } });
});
afterAll(async () => {
  await fixture?.cleanup();
  await Promise.all(pools.map((pool) => pool.end()));
});

const QUORUM_WORK_QUEUE = { 'x-queue-type': 'quorum', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' };

const event = (name: string, payload: Record<string, unknown> = {}): Envelope => createEnvelope({ source: SERVICE, type: `${name}.happened`, version: 1, payload });
const recordAs = (note: string): ConsumeOptions['handler'] => async (envelope, tx) => {
  await tx.query('INSERT INTO effects (message_id, note) VALUES ($1, $2)', [envelope.id, note]);
};

describe('attempts and time limits', () => {
  test('when a message comes back redelivered after a delivery nobody settled, then that counts as an attempt and it goes through the retry queue', async () => {
    const spec = { name: 'redelivered', bindings: ['redelivered.happened.v1'], handler: recordAs('redelivered') };
    const earlier = await fixture.openBus();
    const queues = await fixture.consume(earlier, spec);
    await earlier.close();
    const envelope = event('redelivered');
    await bus.publish(envelope);
    // Taken and given back unsettled, as by a process that crashed while handling it.
    await withChannel(async (channel) => {
      const message = await eventually(() => channel.get(queues.queue));
      channel.nack(message, false, true);
    });
    const retried = bus.waitFor('retried', (r) => r.envelope.id === envelope.id);
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);

    await fixture.consume(bus, spec);

    expect(await retried).toMatchObject({ attempts: 1, error: expect.stringContaining('redelivered') });
    expect((await consumed).duplicate).toBe(false);
    expect(await effectsOf(fixture.db, envelope.id)).toEqual(['redelivered']);
  });

  test('when a handler hangs past its time limit, then the attempt fails, its writes are rolled back and the retry succeeds', async () => {
    let calls = 0;
    await fixture.consume(bus, {
      name: 'hanging',
      bindings: ['hanging.happened.v1'],
      handlerTimeoutMs: 300,
      handler: async (envelope, tx) => {
        await recordAs(`call ${++calls}`)(envelope, tx);
        if (calls === 1) await new Promise(() => undefined);
      },
    });
    const envelope = event('hanging');
    const retried = bus.waitFor('retried', (r) => r.envelope.id === envelope.id);
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);

    await bus.publish(envelope);

    expect(await retried).toMatchObject({ attempts: 1, error: expect.stringContaining('TransactionTimeoutError') });
    await consumed;
    expect(await effectsOf(fixture.db, envelope.id)).toEqual(['call 2']);
  });

  test('when more messages arrive than the pool has connections, then they wait for one and none is charged an attempt', async () => {
    const small = createPool({ connectionString: fixture.url, applicationName: 'kit-consumers-small', max: 2, connectionTimeoutMs: 50 }, fixture.logger);
    pools.push(small);
    await fixture.consume(bus, {
      name: 'crowded',
      bindings: ['crowded.happened.v1'],
      db: small,
      prefetch: 16,
      maxAttempts: 1,
      handler: async (envelope, tx) => {
        await tx.query('SELECT pg_sleep(0.05)');
        await recordAs('crowded')(envelope, tx);
      },
    });
    const envelopes = Array.from({ length: 24 }, (_, n) => event('crowded', { n }));
    const failures: string[] = [];
    bus.on('retried', (r) => failures.push(r.error));
    bus.on('dead-lettered', (d) => failures.push(d.error));
    const all = Promise.all(envelopes.map((e) => bus.waitFor('consumed', (c) => c.envelope.id === e.id, 30_000)));

    await Promise.all(envelopes.map((e) => bus.publish(e)));
    await all;

    expect(failures).toEqual([]);
  });
});

describe('work after the commit', () => {
  test('when the work a handler leaves for after its commit fails, then the message is not acked but retried, and the handler runs again (no dedupe record) until that work succeeds', async () => {
    const after: string[] = [];
    let calls = 0;
    await fixture.consume(bus, {
      name: 'after-commit',
      bindings: ['after_commit.happened.v1'],
      dedupe: false,
      handler: async (envelope, tx) => {
        const call = ++calls;
        await recordAs(`call ${call}`)(envelope, tx);
        return async () => {
          after.push(`after ${call}`);
          if (call === 1) throw new Error('the answer could not be published');
        };
      },
    });
    const envelope = event('after_commit');
    const retried = bus.waitFor('retried', (r) => r.envelope.id === envelope.id);
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
    await bus.publish(envelope);

    expect(await retried).toMatchObject({ attempts: 1, error: expect.stringContaining('could not be published') });
    await consumed;
    expect(after).toEqual(['after 1', 'after 2']);
    // Both transactions committed: a handler without a dedupe record must be idempotent on its own terms.
    expect(await effectsOf(fixture.db, envelope.id)).toEqual(['call 1', 'call 2']);
  });
});

describe('a database connection lost under a handler', () => {
  test('when Postgres ends the handler\'s session (a restart), then its writes are rolled back and it runs again without being charged an attempt', async () => {
    let calls = 0;
    const failures: string[] = [];
    const onFailure = (f: { envelope?: Envelope; error: string }) => failures.push(f.error);
    bus.on('retried', onFailure);
    bus.on('dead-lettered', onFailure);
    await fixture.consume(bus, {
      name: 'terminated',
      bindings: ['terminated.happened.v1'],
      maxAttempts: 1,
      handler: async (envelope, tx) => {
        await recordAs(`call ${++calls}`)(envelope, tx);
        // 57P01, as every session gets when Postgres shuts down.
        if (calls === 1) await tx.query('SELECT pg_terminate_backend(pg_backend_pid())');
      },
    });
    const envelope = event('terminated');
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);

    await bus.publish(envelope);

    expect((await consumed).duplicate).toBe(false);
    bus.off('retried', onFailure);
    bus.off('dead-lettered', onFailure);
    expect(failures).toEqual([]);
    expect(await effectsOf(fixture.db, envelope.id)).toEqual(['call 2']);
  });
});

describe('batches', () => {
  test('when messages arrive while a batch is being handled, then the next batch takes them together in one transaction, each once', async () => {
    const batches: number[] = [];
    let started: () => void = () => undefined;
    let release: () => void = () => undefined;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const firstHeld = new Promise<void>((resolve) => (release = resolve));
    await fixture.consume(bus, {
      name: 'batched',
      bindings: ['batched.happened.v1'],
      prefetch: 50,
      // The first message runs alone (nothing else is waiting) and is held, so the next ones pile up behind it.
      handler: async (envelope, tx) => {
        await recordAs('alone')(envelope, tx);
        started();
        await firstHeld;
      },
      batchHandler: async (envelopes, tx) => {
        batches.push(envelopes.length);
        for (const envelope of envelopes) await recordAs('batch')(envelope, tx);
      },
    });
    const envelopes = Array.from({ length: 20 }, (_, n) => event('batched', { n }));
    const consumed = Promise.all(envelopes.map((e) => bus.waitFor('consumed', (c) => c.envelope.id === e.id, 20_000)));
    await bus.publish(envelopes[0]!);
    await firstStarted;
    await Promise.all(envelopes.slice(1).map((e) => bus.publish(e)));
    // Published means queued; give the broker a moment to deliver them into the prefetch window.
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    const results = await consumed;

    expect(results.every((c) => !c.duplicate)).toBe(true);
    expect(await effectsOf(fixture.db, envelopes[0]!.id)).toEqual(['alone']);
    for (const envelope of envelopes.slice(1)) expect(await effectsOf(fixture.db, envelope.id)).toEqual(['batch']);
    expect(Math.max(...batches)).toBeGreaterThan(1);
  });

  test('when one message of a batch makes it fail, then the others are handled one by one and only the bad one is dead-lettered', async () => {
    const poisonous = (envelope: Envelope) => (envelope.payload as { poison?: boolean }).poison === true;
    const refuse = (envelope: Envelope) => {
      if (poisonous(envelope)) throw new InvalidEnvelopeError('poison on purpose');
    };
    let batchCalls = 0;
    await fixture.consume(bus, {
      name: 'batched-poison',
      bindings: ['poisoned.happened.v1'],
      prefetch: 50,
      handler: async (envelope, tx) => {
        refuse(envelope);
        await recordAs('alone')(envelope, tx);
      },
      batchHandler: async (envelopes, tx) => {
        batchCalls++;
        for (const envelope of envelopes) await recordAs('batch')(envelope, tx);
        envelopes.forEach(refuse);
      },
    });
    const envelopes = Array.from({ length: 30 }, (_, n) => event('poisoned', { n, poison: n === 17 }));
    const poison = envelopes[17]!;
    const deadLettered = bus.waitFor('dead-lettered', (d) => d.envelope?.id === poison.id, 20_000);
    const good = envelopes.filter((e) => e !== poison);
    const consumed = Promise.all(good.map((e) => bus.waitFor('consumed', (c) => c.envelope.id === e.id, 20_000)));

    await Promise.all(envelopes.map((e) => bus.publish(e)));

    expect(await deadLettered).toMatchObject({ error: expect.stringContaining('poison on purpose') });
    await consumed;
    for (const envelope of good) expect((await effectsOf(fixture.db, envelope.id)).length).toBe(1);
    expect(await effectsOf(fixture.db, poison.id)).toEqual([]);
    expect(batchCalls).toBeGreaterThan(0);
  });
});

describe('topology', () => {
  test('when one consumer\'s queue exists with other arguments, then only that consumer fails, health and readiness name it, and it starts once the conflict is gone', async () => {
    const conflicting = `${fixture.prefix}.${SERVICE}.conflict`;
    await withChannel((channel) => channel.assertQueue(conflicting, { durable: true, arguments: { 'x-max-length': 5 } }));
    const states: string[] = [];
    bus.on('state', (state) => states.push(state));

    await fixture.consume(bus, { name: 'conflict', bindings: ['conflict.happened.v1'], handler: recordAs('conflict') });
    const healthy = event('bystander');
    await fixture.consume(bus, { name: 'bystander', bindings: ['bystander.happened.v1'], handler: recordAs('bystander') });
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === healthy.id);
    await bus.publish(healthy);
    await consumed;

    expect(bus.health().consumers.find((c) => c.queue === conflicting)).toMatchObject({ running: false, error: expect.stringContaining('PRECONDITION_FAILED') });
    expect(() => busReadinessCheck(bus).check()).toThrow(conflicting);
    expect(states).toEqual([]);

    await withChannel((channel) => channel.deleteQueue(conflicting));
    await eventually(() => bus.health().consumers.find((c) => c.queue === conflicting)?.running);
    expect(() => busReadinessCheck(bus).check()).not.toThrow();
    const late = event('conflict');
    const lateConsumed = bus.waitFor('consumed', (c) => c.envelope.id === late.id);
    await bus.publish(late);
    await lateConsumed;
  });

  test('when a task is published and no queue takes it, then the publish fails as unroutable instead of being parked', async () => {
    await expect(bus.publish(event('unclaimed'), { exchange: 'tasks' })).rejects.toMatchObject({ code: 'MESSAGING.UNROUTABLE' });
  });

  test('when a consumer reads tasks, then it receives what is published to the tasks exchange and not events of the same type', async () => {
    await fixture.consume(bus, { name: 'worker', bindings: ['job.happened.v1'], exchange: 'tasks', handler: recordAs('worker') });
    const asEvent = event('job');
    const asTask = event('job');
    const consumed = bus.waitFor('consumed', (c) => c.queue.endsWith('.worker'));

    await bus.publish(asEvent);
    await bus.publish(asTask, { exchange: 'tasks' });

    expect((await consumed).envelope.id).toBe(asTask.id);
    expect(await effectsOf(fixture.db, asEvent.id)).toEqual([]);
  });

  test('when a consumer asks for quorum queues, then its queues are quorum queues and a failed message comes back through the retry queue', async () => {
    let calls = 0;
    const queues = await fixture.consume(bus, {
      name: 'replicated',
      bindings: ['replicated.happened.v1'],
      queueType: 'quorum',
      handler: async (envelope, tx) => {
        if (++calls === 1) throw new Error('first call fails');
        await recordAs('replicated')(envelope, tx);
      },
    });
    const envelope = event('replicated');
    const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
    await bus.publish(envelope);
    await consumed;
    expect(calls).toBe(2);

    const { 'x-queue-type': _quorum, ...otherArguments } = QUORUM_WORK_QUEUE;
    const redeclared = withChannel((channel) => {
      channel.on('error', () => undefined); // the refusal closes this channel; the rejection below is what counts
      return channel.assertQueue(queues.queue, {
        durable: true,
        arguments: { ...otherArguments, 'x-queue-type': 'classic', 'x-dead-letter-exchange': queues.requeue, 'x-dead-letter-routing-key': queues.deadLetter },
      });
    });
    await expect(redeclared).rejects.toThrow("received 'classic' but current is 'quorum'");
  });
});
