import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { Pool, PoolClient } from '../db/pool.js';
import { describeIssues } from '../http/parse-input.js';
import type { ConsumeOptions } from '../messaging/consumer.js';
import { createEnvelope, InvalidEnvelopeError, type Envelope } from '../messaging/envelope.js';
import { enqueue } from '../messaging/outbox.js';
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
}

/** What `serveTasks` gives a service definition: its registry declaration and its consumer. */
export interface TaskServer {
  declaration: TaskDeclaration;
  consumer: (context: { db: Pool; service: string }) => ConsumeOptions;
}

/**
 * Serves a task type: a consumer on the `tasks` exchange (queue `<service>.tasks.<type>`) whose handler runs each
 * item at most once to success per (job id, item key), answers every attempt with a result through the outbox, and
 * the declaration the kit puts in the registry record. List it in the service definition's `tasks`.
 */
export function serveTasks<S extends z.ZodType, R>(type: string, handler: TaskHandler<z.output<S>, R>, options: ServeTasksOptions<S>): TaskServer {
  // The input side: what a submitter may send (a field with a default is optional there).
  const inputSchema = z.toJSONSchema(options.inputSchema, { io: 'input' }) as Record<string, unknown>;
  const declaration: TaskDeclaration = { type, allowed: options.allowed, inputSchema };
  return {
    declaration,
    consumer: ({ db, service }) => ({
      name: `tasks.${type}`,
      bindings: [taskRoutingKey(type)],
      exchange: 'tasks',
      db,
      ...(options.prefetch !== undefined && { prefetch: options.prefetch }),
      handler: (envelope, tx) => runTask(envelope, tx, { type, service, handler, inputSchema: options.inputSchema }),
    }),
  };
}

interface RunSpec<S extends z.ZodType, R> {
  type: string;
  service: string;
  handler: TaskHandler<z.output<S>, R>;
  inputSchema: S;
}

async function runTask<S extends z.ZodType, R>(envelope: Envelope, tx: PoolClient, spec: RunSpec<S, R>): Promise<void> {
  const parsed = TaskPayload.safeParse(envelope.payload);
  if (envelope.type !== spec.type || !parsed.success) {
    throw new InvalidEnvelopeError(`not a ${spec.type} task: ${parsed.success ? `type ${envelope.type}` : describeIssues(parsed.error)}`);
  }
  const task = parsed.data;
  const reply = (result: DistributiveOmit<TaskResult, 'taskType' | 'jobId' | 'itemKey' | 'attemptId'>) => enqueue(tx, createEnvelope({
    source: spec.service, type: TASK_RESULT_TYPE, version: TASK_RESULT_VERSION,
    payload: { ...result, taskType: spec.type, jobId: task.jobId, itemKey: task.itemKey, attemptId: task.attemptId } as TaskResult,
  }), { exchange: 'results' });

  // The row lock serialises copies of one item (a redelivery racing a retry); a success is final.
  const { rows: [outcome] } = await tx.query<{ status: string; result: unknown }>(
    `INSERT INTO task_outcomes (task_type, job_id, item_key, status) VALUES ($1, $2, $3, 'running')
     ON CONFLICT (task_type, job_id, item_key) DO UPDATE SET updated_at = now()
     RETURNING status, result`, [spec.type, task.jobId, task.itemKey]);
  if (outcome?.status === 'succeeded') return reply({ outcome: 'succeeded', result: outcome.result, durationMs: 0 });
  // The dispatcher has given up on this attempt and sent another (or will): running it too would exceed the job's parallelism.
  if (Date.parse(task.deadlineAt) < Date.now()) return;

  const input = spec.inputSchema.safeParse(task.input);
  if (!input.success) {
    await record(tx, spec.type, task, 'failed');
    return reply({ outcome: 'failed', permanent: true, error: truncateError(`invalid input: ${describeIssues(input.error)}`), durationMs: 0 });
  }
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // A savepoint: a handler whose statement failed leaves the transaction usable for recording the failure.
  await tx.query('SAVEPOINT task_handler');
  try {
    const result = await spec.handler({ type: spec.type, jobId: task.jobId, itemKey: task.itemKey, attempt: task.attempt, input: input.data, creator: task.creator }, tx);
    const json = JSON.stringify(result ?? null);
    if (json.length > MAX_RESULT_BYTES) throw new TaskRejectedError(`the result is ${json.length} bytes, above ${MAX_RESULT_BYTES}`);
    await tx.query('RELEASE SAVEPOINT task_handler');
    await record(tx, spec.type, task, 'succeeded', json);
    await reply({ outcome: 'succeeded', result: result ?? null, durationMs: elapsed() });
  } catch (error) {
    const durationMs = elapsed();
    await tx.query('ROLLBACK TO SAVEPOINT task_handler');
    await record(tx, spec.type, task, 'failed');
    if (error instanceof TaskThrottledError) return reply({ outcome: 'throttled', retryAfterMs: Math.min(error.retryAfterMs, 3_600_000), durationMs });
    const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await reply({ outcome: 'failed', permanent: error instanceof TaskRejectedError, error: truncateError(text), durationMs });
  }
}

function record(tx: PoolClient, type: string, task: TaskPayload, status: 'succeeded' | 'failed', result?: string) {
  return tx.query(
    `UPDATE task_outcomes SET status = $4, result = $5::jsonb, runs = runs + 1, updated_at = now()
     WHERE task_type = $1 AND job_id = $2 AND item_key = $3`, [type, task.jobId, task.itemKey, status, result ?? null]);
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
