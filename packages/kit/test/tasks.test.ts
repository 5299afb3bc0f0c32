import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  createEnvelope, createLogger, enqueueTasks, envReader, readAmqpEnv, readInstanceEnv, readPostgresEnv, rejectTask, serveTasks, startService,
  taskResultsConsumer, taskRoutingKey, tasksExchange, throttleTask, withTransaction, type Bus, type RunningService, type TaskPayload, type TaskResult,
} from '../src/index.js';
import { createTestDatabase, eventually, publishRaw, testAmqpUrl, testRedisUrl, testRegistryKey, type TestDatabase } from '../src/testing/index.js';
import { drainQueue, messagingFixture } from './messaging-support.js';

/** Both ends of the task protocol: a dispatcher (outbox, results consumer) and a worker started with serveTasks. */
const TYPE = 'kit.echo';
const Input = z.object({ text: z.string().max(50), mode: z.enum(['ok', 'throttle', 'reject', 'fail', 'fail-once']).default('ok') }).strict();

let fixture: Awaited<ReturnType<typeof messagingFixture>>;
let dispatcherBus: Bus;
let workerDb: TestDatabase;
let worker: RunningService<WorkerConfig, undefined>;
const results: TaskResult[] = [];
const runs: { itemKey: string; attempt: number; creator: unknown }[] = [];

function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = { ...readInstanceEnv(read, { port: 0 }), ...readPostgresEnv(read), ...readAmqpEnv(read) };
  read.assertValid('worker');
  return config;
}
type WorkerConfig = ReturnType<typeof loadConfig>;

beforeAll(async () => {
  fixture = await messagingFixture('kit_tasks');
  dispatcherBus = await fixture.openBus();
  await fixture.consume(dispatcherBus, taskResultsConsumer({ db: fixture.db, handler: async (batch) => void results.push(...batch) }));
  fixture.relay(dispatcherBus, { pollIntervalMs: 50 });
  workerDb = await createTestDatabase('kit_tasks_worker');
  const failedOnce = new Set<string>();
  worker = await startService<WorkerConfig, undefined>({
    name: 'worker', version: '1.0.0',
    config: loadConfig({
      DATABASE_URL: workerDb.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: fixture.prefix, REDIS_URL: testRedisUrl(), REGISTRY_KEY_PREFIX: `${fixture.prefix}:`,
      REGISTRY_KEY: testRegistryKey('worker'), DRAIN_DELAY_MS: '0',
    }),
    registration: { routePrefix: 'worker' },
    domain: () => undefined,
    tasks: () => [serveTasks(TYPE, async (task, tx) => {
      runs.push({ itemKey: task.itemKey, attempt: task.attempt, creator: task.creator });
      await tx.query('CREATE TABLE IF NOT EXISTS echoes (item_key text)');
      await tx.query('INSERT INTO echoes VALUES ($1)', [task.itemKey]);
      switch (task.input.mode) {
        case 'throttle': throw throttleTask(1_500);
        case 'reject': throw rejectTask('not for you');
        case 'fail': throw new Error('downstream is down');
        case 'fail-once':
          if (!failedOnce.has(task.itemKey)) {
            failedOnce.add(task.itemKey);
            throw new Error('flaky');
          }
          break;
        case 'ok': break;
      }
      return { echoed: task.input.text };
    }, { inputSchema: Input, allowed: 'admins', prefetch: 4 })],
    createApp: () => (_req, res) => res.end(),
  }, { port: 0, exit: () => undefined, logger: createLogger({ service: 'worker', level: 'silent' }), relay: { pollIntervalMs: 50 } });
});

afterAll(async () => {
  await worker?.shutdown();
  await fixture?.cleanup();
  await workerDb?.drop();
});

function task(itemKey: string, input: unknown, overrides: Partial<TaskPayload> = {}): TaskPayload {
  return {
    jobId: randomUUID(), itemKey, attemptId: randomUUID(), attempt: 1, input,
    creator: { userId: 'u-1', role: 'user' }, deadlineAt: new Date(Date.now() + 30_000).toISOString(), ...overrides,
  };
}

async function dispatch(payload: TaskPayload): Promise<void> {
  await withTransaction(fixture.db, (tx) => enqueueTasks(tx, { source: 'hub', type: TYPE, tasks: [payload] }));
}

const resultOf = (payload: TaskPayload) => eventually(() => results.find((r) => r.attemptId === payload.attemptId), 10_000);
const echoes = async (itemKey: string) => (await worker.context.db.query('SELECT 1 FROM echoes WHERE item_key = $1', [itemKey])).rowCount;

describe('serveTasks with a dispatcher', () => {
  test('when a spoke serves a task type, then its registry record declares it with who may submit it and the input as JSON Schema', () => {
    const record = worker.registration!.record();
    expect(record.taskTypes).toEqual([TYPE]);
    expect(record.tasks).toEqual([{ type: TYPE, allowed: 'admins', inputSchema: expect.objectContaining({ type: 'object', required: ['text'] }) }]);
  });

  test('when a task is dispatched, then the handler gets the input and the job\'s creator and the dispatcher gets its result for that attempt', async () => {
    const payload = task('a', { text: 'hello' }, { creator: { userId: 'u-7', role: 'admin' } });
    await dispatch(payload);
    expect(await resultOf(payload)).toMatchObject({ outcome: 'succeeded', result: { echoed: 'hello' }, jobId: payload.jobId, itemKey: 'a', taskType: TYPE });
    expect(runs.filter((r) => r.itemKey === 'a')).toEqual([{ itemKey: 'a', attempt: 1, creator: { userId: 'u-7', role: 'admin' } }]);
  });

  test('when an item that succeeded comes again in a new attempt, then the handler does not run again and the stored result is answered', async () => {
    const first = task('again', { text: 'once' });
    await dispatch(first);
    await resultOf(first);
    const second = { ...first, attemptId: randomUUID(), attempt: 2 };
    await dispatch(second);
    expect(await resultOf(second)).toMatchObject({ outcome: 'succeeded', result: { echoed: 'once' }, durationMs: 0 });
    expect(runs.filter((r) => r.itemKey === 'again')).toHaveLength(1);
    expect(await echoes('again')).toBe(1);
  });

  test('when a handler throttles, rejects, fails or gets bad input, then the answers are throttled, permanent, transient and permanent, and nothing it wrote stays', async () => {
    const throttled = task('t', { text: 'x', mode: 'throttle' });
    const rejected = task('r', { text: 'x', mode: 'reject' });
    const failed = task('f', { text: 'x', mode: 'fail' });
    const invalid = task('i', { text: 'x'.repeat(51) });
    for (const payload of [throttled, rejected, failed, invalid]) await dispatch(payload);
    expect(await resultOf(throttled)).toMatchObject({ outcome: 'throttled', retryAfterMs: 1_500 });
    expect(await resultOf(rejected)).toMatchObject({ outcome: 'failed', permanent: true, error: 'TaskRejectedError: not for you' });
    expect(await resultOf(failed)).toMatchObject({ outcome: 'failed', permanent: false, error: 'Error: downstream is down' });
    expect(await resultOf(invalid)).toMatchObject({ outcome: 'failed', permanent: true, error: expect.stringContaining('invalid input') });
    for (const key of ['t', 'r', 'f', 'i']) expect(await echoes(key)).toBe(0);
  });

  test('when an item failed and is tried again, then it runs again and succeeds', async () => {
    const first = task('flaky', { text: 'y', mode: 'fail-once' });
    await dispatch(first);
    expect(await resultOf(first)).toMatchObject({ outcome: 'failed', permanent: false });
    const retry = { ...first, attemptId: randomUUID(), attempt: 2 };
    await dispatch(retry);
    expect(await resultOf(retry)).toMatchObject({ outcome: 'succeeded' });
    expect(runs.filter((r) => r.itemKey === 'flaky').map((r) => r.attempt)).toEqual([1, 2]);
  });

  test('when a task arrives after its deadline, then it is not run: the dispatcher has already sent another attempt', async () => {
    const late = task('late', { text: 'z' }, { deadlineAt: new Date(Date.now() - 1).toISOString() });
    const onTime = task('on-time', { text: 'z' });
    await dispatch(late);
    await dispatch(onTime);
    await resultOf(onTime);
    await worker.context.bus.waitFor('consumed', (c) => c.envelope.id === late.attemptId, 5_000).catch(() => undefined);
    expect(results.find((r) => r.attemptId === late.attemptId)).toBeUndefined();
    expect(runs.some((r) => r.itemKey === 'late')).toBe(false);
  });

  test('when a task is not a task (poison), then it is dead-lettered at once with its original exchange and routing key while later tasks flow', async () => {
    const poison = createEnvelope({ source: 'hub', type: TYPE, version: 1, payload: { not: 'a task' } });
    const deadLettered = worker.context.bus.waitFor('dead-lettered', (d) => d.envelope?.id === poison.id, 5_000);
    await publishRaw(tasksExchange(fixture.prefix), taskRoutingKey(TYPE), Buffer.from(JSON.stringify(poison)), { messageId: poison.id });
    const after = task('after-poison', { text: 'p' });
    await dispatch(after);
    expect(await resultOf(after)).toMatchObject({ outcome: 'succeeded' });
    expect(await deadLettered).toMatchObject({ attempts: 1, error: expect.stringContaining('not a kit.echo task') });
    const [message] = await drainQueue(`${worker.queues[0]!.queue}.dlq`);
    expect(message?.properties.headers).toMatchObject({ 'x-original-exchange': tasksExchange(fixture.prefix), 'x-original-routing-key': taskRoutingKey(TYPE) });
  });
});
