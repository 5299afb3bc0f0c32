import type { Pool, PoolClient } from '../db/pool.js';
import type { Bus } from '../messaging/bus.js';
import { describeIssues } from '../http/parse-input.js';
import type { ConsumeOptions } from '../messaging/consumer.js';
import { createEnvelope, InvalidEnvelopeError, type Envelope } from '../messaging/envelope.js';
import { publishFailureText } from '../messaging/publisher.js';
import { TASK_RESULT_ROUTING_KEY, TASK_RESULT_TYPE, TASK_VERSION, TaskResultPayload, type TaskPayload, type TaskResult } from './protocol.js';

/** One attempt that did not reach the broker, and why. */
export interface UnpublishedTask {
  task: TaskPayload;
  error: string;
}

/**
 * Publishes attempts at items to the `tasks` exchange, with confirms, once the transaction that recorded them
 * as dispatched (with a lease each) has committed; resolves with those the broker did not take, which the
 * dispatcher records as failed attempts (retried with backoff). No outbox is needed: the lease is the record. A
 * dispatcher that dies between its commit and the publish leaves items running until their leases run out,
 * and a lease that runs out is a failed attempt, retried like any other. Each envelope id is its attempt id,
 * so a redelivered task is deduplicated by the worker's consumer; the correlation id (say, the request that
 * created the job) follows the task into the worker's logs and its result.
 */
export async function publishTasks(bus: Pick<Bus, 'publish'>, { source, type, tasks, correlationId }: { source: string; type: string; tasks: TaskPayload[]; correlationId?: string }): Promise<UnpublishedTask[]> {
  const sent = await Promise.allSettled(tasks.map((task) => {
    const envelope = createEnvelope({ source, type, version: TASK_VERSION, payload: task });
    return bus.publish({ ...envelope, id: task.attemptId, ...(correlationId && { correlationId }) }, { exchange: 'tasks' });
  }));
  return sent.flatMap((outcome, i) => (outcome.status === 'rejected' ? [{ task: tasks[i]!, error: publishFailureText(outcome.reason) }] : []));
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
    // A result counts only for the attempt its item awaits: a second copy changes nothing, no dedupe record needed.
    dedupe: false,
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
