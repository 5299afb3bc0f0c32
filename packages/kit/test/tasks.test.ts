import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  createEnvelope, createLogger, envReader, publishTasks, readAmqpEnv, readInstanceEnv, readPostgresEnv, rejectTask, serveTasks, startService,
  taskResultsConsumer, taskRoutingKey, tasksExchange, throttleTask, type Bus, type RunningService, type TaskPayload, type TaskResult,
} from '../src/index.js';
import { createTestDatabase, eventually, publishRaw, testAmqpUrl, testRedisUrl, testRegistryKey, withPgClient, type TestDatabase } from '../src/testing/index.js';
import { drainQueue, messagingFixture } from './messaging-support.js';

/** Both ends of the task protocol: a dispatcher (outbox, results consumer) and a worker started with serveTasks. */
const TYPE = 'kit.echo';
/** The same handler, served batched: tasks that arrive together run in one transaction, each under its savepoint. */
const BATCHED = 'kit.echo_batched';
const Input = z.object({ text: z.string().max(50), mode: z.enum(['ok', 'throttle', 'reject', 'fail', 'fail-once']).default('ok') }).strict();

let fixture: Awaited<ReturnType<typeof messagingFixture>>;
let dispatcherBus: Bus;
let workerDb: TestDatabase;
let worker: RunningService<WorkerConfig, undefined>;
const results: TaskResult[] = [];
const runs: { itemKey: string; attempt: number; creator: unknown; txid: string }[] = [];

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
  await withPgClient(workerDb.url, (client) => client.query('CREATE TABLE echoes (item_key text)'));
  const failedOnce = new Set<string>();
  worker = await startService<WorkerConfig, undefined>({
    name: 'worker', version: '1.0.0',
    config: loadConfig({
      DATABASE_URL: workerDb.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: fixture.prefix, REDIS_URL: testRedisUrl(), REGISTRY_KEY_PREFIX: `${fixture.prefix}:`,
      REGISTRY_KEY: testRegistryKey('worker'), DRAIN_DELAY_MS: '0',
    }),
    registration: { routePrefix: 'worker' },
    domain: () => undefined,
    tasks: () => [TYPE, BATCHED].map((type) => serveTasks(type, async (task, tx) => {
      const txid = (await tx.query<{ txid: string }>('SELECT txid_current()::text AS txid')).rows[0]!.txid;
      runs.push({ itemKey: task.itemKey, attempt: task.attempt, creator: task.creator, txid });
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
    }, { inputSchema: Input, allowed: 'admins', prefetch: type === BATCHED ? 50 : 4, batched: type === BATCHED })),
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

async function dispatch(payload: TaskPayload, type = TYPE): Promise<void> {
  expect(await publishTasks(dispatcherBus, { source: 'hub', type, tasks: [payload] })).toEqual([]);
}

const resultOf = (payload: TaskPayload) => eventually(() => results.find((r) => r.attemptId === payload.attemptId), 10_000);
const echoes = async (itemKey: string) => (await worker.context.db.query('SELECT 1 FROM echoes WHERE item_key = $1', [itemKey])).rowCount;

describe('serveTasks', () => {
  test('when a spoke serves a task type, then its registry record declares it with who may submit it and the input as JSON Schema', () => {
    const record = worker.registration!.record();
    expect(record.taskTypes).toEqual([TYPE, BATCHED]);
    expect(record.tasks).toEqual([TYPE, BATCHED].map((type) => ({ type, allowed: 'admins', inputSchema: expect.objectContaining({ type: 'object', required: ['text'] }) })));
  });

});

describe.each([TYPE, BATCHED])('%s served with a dispatcher', (type) => {
  const k = (key: string) => `${type}:${key}`;
  test('when a task is dispatched, then the handler gets the input and the job\'s creator and the dispatcher gets its result for that attempt', async () => {
    const payload = task(k('a'), { text: 'hello' }, { creator: { userId: 'u-7', role: 'admin' } });
    await dispatch(payload, type);
    expect(await resultOf(payload)).toMatchObject({ outcome: 'succeeded', result: { echoed: 'hello' }, jobId: payload.jobId, itemKey: k('a'), taskType: type });
    expect(runs.filter((r) => r.itemKey === k('a'))).toEqual([{ itemKey: k('a'), attempt: 1, creator: { userId: 'u-7', role: 'admin' }, txid: expect.any(String) }]);
  });

  test('when an item that succeeded comes again in a new attempt, then the handler does not run again and the stored result is answered', async () => {
    const first = task(k('again'), { text: 'once' });
    await dispatch(first, type);
    await resultOf(first);
    const second = { ...first, attemptId: randomUUID(), attempt: 2 };
    await dispatch(second, type);
    expect(await resultOf(second)).toMatchObject({ outcome: 'succeeded', result: { echoed: 'once' }, durationMs: 0 });
    expect(runs.filter((r) => r.itemKey === k('again'))).toHaveLength(1);
    expect(await echoes(k('again'))).toBe(1);
  });

  test('when a handler throttles, rejects, fails or gets bad input, then the answers are throttled, permanent, transient and permanent, and nothing it wrote stays', async () => {
    const throttled = task(k('t'), { text: 'x', mode: 'throttle' });
    const rejected = task(k('r'), { text: 'x', mode: 'reject' });
    const failed = task(k('f'), { text: 'x', mode: 'fail' });
    const invalid = task(k('i'), { text: 'x'.repeat(51) });
    for (const payload of [throttled, rejected, failed, invalid]) await dispatch(payload, type);
    expect(await resultOf(throttled)).toMatchObject({ outcome: 'throttled', retryAfterMs: 1_500 });
    expect(await resultOf(rejected)).toMatchObject({ outcome: 'failed', permanent: true, error: 'TaskRejectedError: not for you' });
    expect(await resultOf(failed)).toMatchObject({ outcome: 'failed', permanent: false, error: 'Error: downstream is down' });
    expect(await resultOf(invalid)).toMatchObject({ outcome: 'failed', permanent: true, error: expect.stringContaining('invalid input') });
    for (const key of ['t', 'r', 'f', 'i']) expect(await echoes(k(key))).toBe(0);
  });

  test('when an item failed and is tried again, then it runs again and succeeds', async () => {
    const first = task(k('flaky'), { text: 'y', mode: 'fail-once' });
    await dispatch(first, type);
    expect(await resultOf(first)).toMatchObject({ outcome: 'failed', permanent: false });
    const retry = { ...first, attemptId: randomUUID(), attempt: 2 };
    await dispatch(retry, type);
    expect(await resultOf(retry)).toMatchObject({ outcome: 'succeeded' });
    expect(runs.filter((r) => r.itemKey === k('flaky')).map((r) => r.attempt)).toEqual([1, 2]);
  });

  test('when a task arrives after its deadline, then it is not run: the dispatcher has already sent another attempt', async () => {
    const late = task(k('late'), { text: 'z' }, { deadlineAt: new Date(Date.now() - 1).toISOString() });
    const onTime = task(k('on-time'), { text: 'z' });
    await dispatch(late, type);
    await dispatch(onTime, type);
    await resultOf(onTime);
    await worker.context.bus.waitFor('consumed', (c) => c.envelope.id === late.attemptId, 5_000).catch(() => undefined);
    expect(results.find((r) => r.attemptId === late.attemptId)).toBeUndefined();
    expect(runs.some((r) => r.itemKey === k('late'))).toBe(false);
  });

  test('when a task is not a task (poison), then it is dead-lettered at once with its original exchange and routing key while later tasks flow', async () => {
    const poison = createEnvelope({ source: 'hub', type, version: 1, payload: { not: 'a task' } });
    const deadLettered = worker.context.bus.waitFor('dead-lettered', (d) => d.envelope?.id === poison.id, 5_000);
    await publishRaw(tasksExchange(fixture.prefix), taskRoutingKey(type), Buffer.from(JSON.stringify(poison)), { messageId: poison.id });
    const after = task(k('after-poison'), { text: 'p' });
    await dispatch(after, type);
    expect(await resultOf(after)).toMatchObject({ outcome: 'succeeded' });
    expect(await deadLettered).toMatchObject({ attempts: 1, error: expect.stringContaining(`not a ${type} task`) });
    const [message] = await drainQueue(`${worker.queues.find((q) => q.queue.endsWith(`tasks.${type}`))!.queue}.dlq`);
    expect(message?.properties.headers).toMatchObject({ 'x-original-exchange': tasksExchange(fixture.prefix), 'x-original-routing-key': taskRoutingKey(type) });
  });
});

describe('a batched task type', () => {
  test('when 40 tasks arrive together and one fails in the middle, then they share transactions, every one is answered, and only the failed one\'s writes are undone', async () => {
    const jobId = randomUUID();
    const payloads = Array.from({ length: 40 }, (_, i) => task(`batch-${i}`, { text: `n${i}`, mode: i === 17 ? 'fail' : 'ok' }, { jobId }));
    expect(await publishTasks(dispatcherBus, { source: 'hub', type: BATCHED, tasks: payloads })).toEqual([]);
    const answers = await Promise.all(payloads.map(resultOf));
    expect(answers.filter((a) => a.outcome === 'succeeded')).toHaveLength(39);
    expect(answers[17]).toMatchObject({ outcome: 'failed', permanent: false, itemKey: 'batch-17' });
    const ran = runs.filter((r) => r.itemKey.startsWith('batch-'));
    expect(ran).toHaveLength(40);
    expect(new Set(ran.map((r) => r.txid)).size).toBeLessThan(40);
    expect(await echoes('batch-17')).toBe(0);
    for (const i of [0, 16, 18, 39]) expect(await echoes(`batch-${i}`)).toBe(1);
  });
});

describe('publishTasks', () => {
  test('when no worker\'s queue is bound for a task\'s type, then it comes back unpublished with the broker\'s reason and the others go out', async () => {
    const lost = task('nobody-serves', { text: 'x' });
    expect(await publishTasks(dispatcherBus, { source: 'hub', type: 'kit.nobody_serves', tasks: [lost] })).toEqual([
      { task: lost, error: expect.stringMatching(/UNROUTABLE|NO_ROUTE|route/i) },
    ]);
    const delivered = task('served', { text: 'y' });
    expect(await publishTasks(dispatcherBus, { source: 'hub', type: TYPE, tasks: [delivered] })).toEqual([]);
    expect(await resultOf(delivered)).toMatchObject({ outcome: 'succeeded' });
  });
});
