import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Pool, PoolClient } from '../db/pool.js';
import { describeIssues } from '../http/parse-input.js';
import type { AfterCommit, ConsumeOptions } from '../messaging/consumer.js';
import { createEnvelope, InvalidEnvelopeError, type Envelope } from '../messaging/envelope.js';
import type { Bus } from '../messaging/bus.js';
import type { TaskDeclaration, TaskSubmitters } from './declaration.js';
import {
  MAX_RESULT_BYTES, TASK_RESULT_TYPE, TASK_RESULT_VERSION, TaskPayload, taskRoutingKey, truncateError, type TaskCreator, type TaskResult,
} from './protocol.js';
import { TaskRejectedError, TaskThrottledError } from './task-errors.js';

/** One attempt at one item, as the handler sees it. */
export interface Task<I> {
  type: string;
  jobId: string;
  itemKey: string;
  attempt: number;
  input: I;
  /** The job's creator: the handler applies its own rules (a plain user's `notification.send` only to themselves). */
  creator: TaskCreator;
}

/**
 * Runs one item inside the delivery's transaction: what it writes through `tx` commits with the outcome and
 * the result, or not at all. Returns the item's result (JSON); throws `throttleTask(ms)`, `rejectTask(msg)`,
 * or anything else for a failure the dispatcher retries with backoff.
 */
export type TaskHandler<I, R> = (task: Task<I>, tx: PoolClient) => Promise<R>;

export interface ServeTasksOptions<S extends z.ZodType> {
  /** Parsed on every task (a mismatch fails the item permanently) and declared to the hub as JSON Schema. */
  inputSchema: S;
  allowed: TaskSubmitters;
  /** Tasks of this type running at once in this instance; by default half the pool (as for any consumer). */
  prefetch?: number;
  /**
   * For handlers that only work through `tx` (no calls out, no waiting): the tasks that arrived while a batch ran
   * (up to the prefetch) run one after another in one transaction, each under its own savepoint, and their
   * bookkeeping (outcome rows, results) costs a few statements per batch instead of several per task. Handlers
   * that call out or wait should not set it: batched tasks do not run in parallel. Each task that writes holds a
   * subtransaction until the commit, and Postgres tracks up to 64 per transaction cheaply: for handlers that
   * write, keep the prefetch at or under 64.
   */
  batched?: boolean;
}

/** What `serveTasks` gives a service definition: its registry declaration and its consumer. */
export interface TaskServer {
  declaration: TaskDeclaration;
  consumer: (context: { db: Pool; bus: Pick<Bus, 'publish'>; service: string }) => ConsumeOptions;
}

/**
 * Serves a task type: a consumer on the `tasks` exchange (queue `<service>.tasks.<type>`) whose handler runs each
 * item at most once to success per (job id, item key), answers every attempt with a result, and the declaration
 * the kit puts in the registry record. List it in the service definition's `tasks`. The outcome row is the
 * record: results are published once the delivery's transaction has committed, before the task is acked; if
 * that fails the task is retried and answered again from the row (no dedupe record, no outbox needed).
 */
export function serveTasks<S extends z.ZodType, R>(type: string, handler: TaskHandler<z.output<S>, R>, options: ServeTasksOptions<S>): TaskServer {
  // The input side: what a submitter may send (a field with a default is optional there).
  const inputSchema = z.toJSONSchema(options.inputSchema, { io: 'input' }) as Record<string, unknown>;
  const declaration: TaskDeclaration = { type, allowed: options.allowed, inputSchema };
  return {
    declaration,
    consumer: ({ db, bus, service }) => {
      const spec: RunSpec<S, R> = { type, service, bus, handler, inputSchema: options.inputSchema };
      return {
        name: `tasks.${type}`,
        bindings: [taskRoutingKey(type)],
        exchange: 'tasks',
        db,
        dedupe: false,
        ...(options.prefetch !== undefined && { prefetch: options.prefetch }),
        handler: (envelope, tx) => runTasks([envelope], tx, spec),
        ...(options.batched && { batchHandler: (envelopes: Envelope[], tx: PoolClient) => runTasks(envelopes, tx, spec) }),
      };
    },
  };
}

interface RunSpec<S extends z.ZodType, R> {
  type: string;
  service: string;
  bus: Pick<Bus, 'publish'>;
  handler: TaskHandler<z.output<S>, R>;
  inputSchema: S;
}

type Reply = DistributiveOmit<TaskResult, 'taskType' | 'jobId' | 'itemKey' | 'attemptId'>;
interface Ran {
  task: TaskPayload;
  reply?: Reply;
  /** The outcome row's new state; none when the stored success is only sent again, or the attempt is skipped. */
  record?: { status: 'succeeded' | 'failed'; result: string | null };
}

/**
 * Runs tasks (one delivery's, or a batch's) in the delivery's transaction: claims their outcome rows in one
 * statement, runs each handler under its own savepoint, then records the outcomes in one statement; returns
 * the publishing of the results, for after the commit.
 */
async function runTasks<S extends z.ZodType, R>(envelopes: Envelope[], tx: PoolClient, spec: RunSpec<S, R>): Promise<AfterCommit> {
  const tasks = envelopes.map((envelope) => {
    const parsed = TaskPayload.safeParse(envelope.payload);
    if (envelope.type !== spec.type || !parsed.success) {
      throw new InvalidEnvelopeError(`not a ${spec.type} task: ${parsed.success ? `type ${envelope.type}` : describeIssues(parsed.error)}`);
    }
    return parsed.data;
  });
  // The row lock serialises copies of one item (a redelivery racing a retry); a success is final. Rows are
  // locked in key order, so batches on other instances holding some of the same items cannot deadlock with this one.
  const order = [...tasks].sort((a, b) => compare(a.jobId, b.jobId) || compare(a.itemKey, b.itemKey));
  const { rows } = await tx.query<{ job_id: string; item_key: string; status: string; result: unknown }>(
    `INSERT INTO task_outcomes (task_type, job_id, item_key, status)
     SELECT $1, job_id, item_key, 'running' FROM unnest($2::uuid[], $3::text[]) AS t(job_id, item_key)
     ON CONFLICT (task_type, job_id, item_key) DO UPDATE SET updated_at = now()
     RETURNING job_id, item_key, status, result`, [spec.type, order.map((t) => t.jobId), order.map((t) => t.itemKey)]);
  const outcomes = new Map(rows.map((row) => [`${row.job_id}/${row.item_key}`, row]));

  const ran: Ran[] = [];
  for (const task of tasks) {
    const outcome = outcomes.get(`${task.jobId.toLowerCase()}/${task.itemKey}`);
    if (outcome?.status === 'succeeded') ran.push({ task, reply: { outcome: 'succeeded', result: outcome.result, durationMs: 0 } });
    // The dispatcher has given up on this attempt and sent another (or will): running it too would exceed the job's parallelism.
    else if (Date.parse(task.deadlineAt) >= Date.now()) ran.push(await runOne(task, tx, spec));
  }

  const recorded = ran.filter((r) => r.record);
  if (recorded.length > 0) {
    await tx.query(
      `UPDATE task_outcomes o SET status = r.status, result = r.result, runs = runs + 1, updated_at = now()
       FROM unnest($2::uuid[], $3::text[], $4::text[], $5::jsonb[]) AS r(job_id, item_key, status, result)
       WHERE o.task_type = $1 AND o.job_id = r.job_id AND o.item_key = r.item_key`,
      [spec.type, recorded.map((r) => r.task.jobId), recorded.map((r) => r.task.itemKey), recorded.map((r) => r.record!.status), recorded.map((r) => r.record!.result)]);
  }
  const results = ran.filter((r) => r.reply).map(({ task, reply }) => createEnvelope({
    source: spec.service, type: TASK_RESULT_TYPE, version: TASK_RESULT_VERSION,
    payload: { ...reply, taskType: spec.type, jobId: task.jobId, itemKey: task.itemKey, attemptId: task.attemptId } as TaskResult,
  }));
  return async () => void (await Promise.all(results.map((result) => spec.bus.publish(result, { exchange: 'results' }))));
}

async function runOne<S extends z.ZodType, R>(task: TaskPayload, tx: PoolClient, spec: RunSpec<S, R>): Promise<Ran> {
  const input = spec.inputSchema.safeParse(task.input);
  if (!input.success) {
    return { task, record: { status: 'failed', result: null }, reply: { outcome: 'failed', permanent: true, error: truncateError(`invalid input: ${describeIssues(input.error)}`), durationMs: 0 } };
  }
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const savepoint = underSavepoint(tx);
  try {
    const result = await spec.handler({ type: spec.type, jobId: task.jobId, itemKey: task.itemKey, attempt: task.attempt, input: input.data, creator: task.creator }, savepoint.tx);
    const json = JSON.stringify(result ?? null);
    if (json.length > MAX_RESULT_BYTES) throw new TaskRejectedError(`the result is ${json.length} bytes, above ${MAX_RESULT_BYTES}`);
    await savepoint.release();
    return { task, record: { status: 'succeeded', result: json }, reply: { outcome: 'succeeded', result: result ?? null, durationMs: elapsed() } };
  } catch (error) {
    const durationMs = elapsed();
    await savepoint.rollback();
    const record = { status: 'failed', result: null } as const;
    if (error instanceof TaskThrottledError) return { task, record, reply: { outcome: 'throttled', retryAfterMs: Math.min(error.retryAfterMs, 3_600_000), durationMs } };
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return { task, record, reply: { outcome: 'failed', permanent: error instanceof TaskRejectedError, error: truncateError(text), durationMs } };
  }
}

/**
 * The handler's view of the transaction: its first statement opens a savepoint (queued ahead of it on the same
 * connection), so a handler whose statement failed leaves the transaction usable for recording the failure, and
 * one that never touches the database costs no statement at all.
 */
function underSavepoint(tx: PoolClient) {
  let opened: Promise<unknown> | undefined;
  const query = (...args: unknown[]) => {
    if (!opened) {
      opened = tx.query('SAVEPOINT task_handler');
      opened.catch(() => undefined); // its failure fails the handler's own statement queued behind it
    }
    return (tx.query as (...a: unknown[]) => unknown)(...args);
  };
  const view = new Proxy(tx, {
    get: (target, property) => {
      if (property === 'query') return query;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    tx: view,
    release: async () => void (opened && await tx.query('RELEASE SAVEPOINT task_handler')),
    rollback: async () => void (opened && await tx.query('ROLLBACK TO SAVEPOINT task_handler')),
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
