import type { Pool, PoolClient } from '../db/pool.js';
import { describeIssues } from '../http/parse-input.js';
import type { ConsumeOptions } from '../messaging/consumer.js';
import { createEnvelope, InvalidEnvelopeError, type Envelope } from '../messaging/envelope.js';
import { enqueueAll } from '../messaging/outbox.js';
import { TASK_RESULT_ROUTING_KEY, TASK_RESULT_TYPE, TASK_VERSION, TaskResultPayload, type TaskPayload, type TaskResult } from './protocol.js';

/**
 * Writes attempts at items to the outbox in one statement, in the caller's transaction (the one that records
 * them as dispatched): the tasks reach the `tasks` exchange after the commit, or never if it rolls back. Each
 * envelope id is its attempt id, so a redelivered task is deduplicated by the worker's consumer; the
 * correlation id (say, the request that created the job) follows the task into the worker's logs and its result.
 */
export async function enqueueTasks(tx: PoolClient, { source, type, tasks, correlationId }: { source: string; type: string; tasks: TaskPayload[]; correlationId?: string }): Promise<void> {
  await enqueueAll(tx, tasks.map((task) => {
    const envelope = createEnvelope({ source, type, version: TASK_VERSION, payload: task });
    return { ...envelope, id: task.attemptId, ...(correlationId && { correlationId }) };
  }), { exchange: 'tasks' });
}

export interface TaskResultsOptions {
  /** The dispatcher's database: results are handled in its transaction, deduplicated like any consumer's messages. */
  db: Pool;
  /**
   * Records results, in the order they arrived, in the delivery's transaction: the results that arrived
   * together (one, or up to the prefetch when busy), so a dispatcher can fold them into shared counts with
   * one write. A result for an attempt it no longer waits for is simply ignored. When it throws for a
   * batch, each result is handed to it again alone, so one bad result cannot hold back the others.
   */
  handler: (results: TaskResult[], tx: PoolClient) => Promise<void>;
  prefetch?: number;
  /** The queue is `<service>.<name>`: one queue shared by every replica of the dispatcher. */
  name?: string;
}

/** The dispatcher's consumer of task results, on the `results` exchange. */
export function taskResultsConsumer({ db, handler, prefetch, name = 'task-results' }: TaskResultsOptions): ConsumeOptions {
  return {
    name,
    bindings: [TASK_RESULT_ROUTING_KEY],
    exchange: 'results',
    db,
    ...(prefetch !== undefined && { prefetch }),
    handler: (envelope, tx) => handler([parseResult(envelope)], tx),
    batchHandler: (envelopes, tx) => handler(envelopes.map(parseResult), tx),
  };
}

function parseResult(envelope: Envelope): TaskResult {
  const parsed = TaskResultPayload.safeParse(envelope.payload);
  if (envelope.type !== TASK_RESULT_TYPE || !parsed.success) {
    throw new InvalidEnvelopeError(`not a task result: ${parsed.success ? `type ${envelope.type}` : describeIssues(parsed.error)}`);
  }
  return parsed.data;
}
