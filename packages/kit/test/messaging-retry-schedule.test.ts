import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ConfigError, createEnvelope, createLogger, DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAYS_MS, envReader, readAmqpEnv, readPostgresEnv, readProcessEnv,
  startService, type ConsumerQueues, type Envelope,
} from '../src/index.js';
import { createTestDatabase, deleteTestTopology, testAmqpUrl, uniquePrefix, withAmqpChannel, type TestDatabase } from '../src/testing/index.js';

function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = { ...readProcessEnv(read, { port: 0 }), ...readPostgresEnv(read), ...readAmqpEnv(read) };
  read.assertValid('retrier');
  return config;
}

const BASE = { DATABASE_URL: 'postgres://db/retrier', AMQP_URL: 'amqp://broker' };

describe('MESSAGING_RETRY_DELAYS and MESSAGING_MAX_ATTEMPTS', () => {
  test('when neither is set, then consumers keep the kit\'s schedule: 1 s, 10 s, 60 s (repeating), 5 attempts', () => {
    expect(loadConfig(BASE).consumerRetry).toEqual({ retryDelaysMs: [1_000, 10_000, 60_000], maxAttempts: 5 });
    expect({ delays: DEFAULT_RETRY_DELAYS_MS, attempts: DEFAULT_MAX_ATTEMPTS }).toEqual({ delays: [1_000, 10_000, 60_000], attempts: 5 });
  });

  test('when both are set, then the delays are read in order with their units (a delay may repeat) and the attempts as a number', () => {
    expect(loadConfig({ ...BASE, MESSAGING_RETRY_DELAYS: '200ms, 200ms,1s,2m,1h,750', MESSAGING_MAX_ATTEMPTS: '3' }).consumerRetry)
      .toEqual({ retryDelaysMs: [200, 200, 1_000, 120_000, 3_600_000, 750], maxAttempts: 3 });
  });

  test.each([
    [{ MESSAGING_RETRY_DELAYS: '1s,soon' }, 'MESSAGING_RETRY_DELAYS is not a comma-separated list of durations (e.g. 1s,10s,60s)'],
    [{ MESSAGING_RETRY_DELAYS: '1s,,5s' }, 'MESSAGING_RETRY_DELAYS is not a comma-separated list of durations (e.g. 1s,10s,60s)'],
    [{ MESSAGING_RETRY_DELAYS: '0ms,1s' }, 'MESSAGING_RETRY_DELAYS must hold delays from 1ms to 4294967295ms (RabbitMQ\'s largest queue TTL)'],
    [{ MESSAGING_RETRY_DELAYS: '50d' }, 'MESSAGING_RETRY_DELAYS is not a comma-separated list of durations (e.g. 1s,10s,60s)'],
    [{ MESSAGING_RETRY_DELAYS: '1200h' }, 'MESSAGING_RETRY_DELAYS must hold delays from 1ms to 4294967295ms (RabbitMQ\'s largest queue TTL)'],
    [{ MESSAGING_RETRY_DELAYS: Array.from({ length: 11 }, (_, i) => `${i + 1}s`).join(',') }, 'MESSAGING_RETRY_DELAYS has 11 delays: at most 10 (the last one repeats)'],
    [{ MESSAGING_MAX_ATTEMPTS: '0' }, 'MESSAGING_MAX_ATTEMPTS is not an integer in [1, 100]'],
    [{ MESSAGING_MAX_ATTEMPTS: 'three' }, 'MESSAGING_MAX_ATTEMPTS is not an integer in [1, 100]'],
  ])('when the schedule is malformed (%o), then the start fails with one line naming it', (env, problem) => {
    const attempt = () => loadConfig({ ...BASE, ...env });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(`retrier: invalid configuration: ${problem}`);
  });
});

describe('a service started with a retry schedule from its environment', () => {
  const prefix = uniquePrefix('retry');
  const declared: ConsumerQueues[] = [];
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('kit_retry_schedule');
  });
  afterAll(async () => {
    await deleteTestTopology(prefix, declared);
    await database?.drop();
  });

  /** The service with one consumer whose handler fails every delivery of a message marked `fail`. */
  async function startRetrier(env: NodeJS.ProcessEnv) {
    const calls = new Map<string, number>();
    const service = await startService({
      name: 'retrier', version: '1.0.0',
      config: loadConfig({ DATABASE_URL: database.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, DRAIN_DELAY_MS: '0', ...env }),
      domain: () => undefined,
      consumers: ({ db }) => [{
        name: 'probe', bindings: ['retry.probe.v1'], db,
        handler: async (envelope) => {
          calls.set(envelope.id, (calls.get(envelope.id) ?? 0) + 1);
          if ((envelope.payload as { fail?: boolean }).fail) throw new Error('the handler refuses this one');
        },
      }],
      createApp: () => (_req, res) => res.end('ok'),
    }, { port: 0, exit: () => undefined, logger: createLogger({ service: 'retrier', level: 'silent' }) });
    declared.push(...service.queues);
    const bus = service.context.bus;
    /** Publishes a failing message and a fine one; resolves with the failing one's retries, its dead-lettering and the time to it. */
    const failOne = async () => {
      const doomed: Envelope = createEnvelope({ source: 'retrier', type: 'retry.probe', version: 1, payload: { fail: true } });
      const fine: Envelope = createEnvelope({ source: 'retrier', type: 'retry.probe', version: 1, payload: { fail: false } });
      const retries: { attempts: number; delayMs: number }[] = [];
      const onRetry = (r: { envelope: Envelope; attempts: number; delayMs: number }) => r.envelope.id === doomed.id && retries.push({ attempts: r.attempts, delayMs: r.delayMs });
      bus.on('retried', onRetry);
      const deadLettered = bus.waitFor('dead-lettered', (d) => d.envelope?.id === doomed.id, 20_000);
      const consumed = bus.waitFor('consumed', (c) => c.envelope.id === fine.id, 20_000);
      const started = Date.now();
      await bus.publish(doomed);
      await bus.publish(fine);
      const dead = await deadLettered;
      const elapsedMs = Date.now() - started;
      await consumed;
      bus.off('retried', onRetry);
      return { dead, retries, elapsedMs, handlerRuns: calls.get(doomed.id), fineRuns: calls.get(fine.id) };
    };
    return { service, failOne };
  }

  test('when a handler keeps failing, then it is retried after each configured delay and dead-lettered after exactly the configured attempts', async () => {
    const { service, failOne } = await startRetrier({ MESSAGING_RETRY_DELAYS: '100ms,300ms', MESSAGING_MAX_ATTEMPTS: '4' });
    try {
      const [queues] = service.queues;
      expect(queues!.retry.map((r) => r.queue)).toEqual([`${prefix}.retrier.probe.retry.100ms`, `${prefix}.retrier.probe.retry.300ms`]);
      const { dead, retries, elapsedMs, handlerRuns, fineRuns } = await failOne();
      // 4 deliveries: 3 retries (100 ms, 300 ms, then the last delay again), then the DLQ.
      expect(retries).toEqual([{ attempts: 1, delayMs: 100 }, { attempts: 2, delayMs: 300 }, { attempts: 3, delayMs: 300 }]);
      expect(dead).toMatchObject({ queue: queues!.queue, attempts: 4, error: 'Error: the handler refuses this one' });
      expect(handlerRuns).toBe(4);
      expect(fineRuns).toBe(1);
      // The broker held each retry for its delay (queue TTL): at least 700 ms in all.
      expect(elapsedMs).toBeGreaterThanOrEqual(700);
      const inDlq = await withAmqpChannel(async (channel) => (await channel.checkQueue(queues!.deadLetter)).messageCount);
      expect(inDlq).toBe(1);
    } finally {
      await service.shutdown();
    }
  });

  test('when the same service restarts with another schedule on the same broker, then its consumer starts (new retry queues, no argument conflict) and uses it', async () => {
    const { service, failOne } = await startRetrier({ MESSAGING_RETRY_DELAYS: '150ms', MESSAGING_MAX_ATTEMPTS: '2' });
    try {
      expect(service.context.bus.health().consumers).toEqual([{ queue: `${prefix}.retrier.probe`, running: true }]);
      const { dead, retries, handlerRuns } = await failOne();
      expect(retries).toEqual([{ attempts: 1, delayMs: 150 }]);
      expect({ attempts: dead.attempts, handlerRuns }).toEqual({ attempts: 2, handlerRuns: 2 });
    } finally {
      await service.shutdown();
    }
  });
});
