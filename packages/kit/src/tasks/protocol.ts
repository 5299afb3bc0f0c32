import { z } from 'zod';
import { ROLES } from '../auth/token-contract.js';

/**
 * The task protocol both ends speak (docs/messaging.md, "Tasks"). A dispatcher (the hub) publishes one task
 * envelope per attempt at an item to the `tasks` exchange, with the task type as the envelope type; the
 * worker (`serveTasks`) answers with one result envelope per attempt on the `results` exchange.
 */
export const TASK_VERSION = 1;
export const TASK_RESULT_TYPE = 'task.result';
export const TASK_RESULT_VERSION = 1;
export const TASK_RESULT_ROUTING_KEY = `${TASK_RESULT_TYPE}.v${TASK_RESULT_VERSION}`;

/** A task type is an envelope type: dotted lower-case words (`notification.send`). */
export const TASK_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
export const MAX_TASK_TYPE_LENGTH = 100;
/** A result larger than this is refused by the worker (the item fails): results are summaries, not payloads. */
export const MAX_RESULT_BYTES = 16_384;
export const MAX_ERROR_LENGTH = 1_000;

/** The routing key of a task type's tasks: the envelope's `<type>.v<version>`. */
export const taskRoutingKey = (type: string) => `${type}.v${TASK_VERSION}`;

/** Who created the job: every task carries it, and the handler applies its own rules with it. */
export const TaskCreator = z.object({ userId: z.string().min(1).max(200), role: z.enum(ROLES) });
export type TaskCreator = z.infer<typeof TaskCreator>;

export const TaskPayload = z.object({
  jobId: z.uuid(),
  itemKey: z.string().min(1).max(200),
  /** Identifies this attempt (it is also the envelope id); the result names it, so a late answer to an old attempt is recognised. */
  attemptId: z.uuid(),
  attempt: z.int().min(1),
  input: z.unknown(),
  creator: TaskCreator,
  /** When the dispatcher stops waiting for this attempt and tries again: a worker that receives it later skips it. */
  deadlineAt: z.iso.datetime(),
});
export type TaskPayload = z.infer<typeof TaskPayload>;

const resultFields = {
  taskType: z.string().regex(TASK_TYPE_PATTERN).max(MAX_TASK_TYPE_LENGTH),
  jobId: z.uuid(),
  itemKey: z.string().min(1).max(200),
  attemptId: z.uuid(),
  /** Time the handler ran (0 when the stored result of an earlier run was sent again). */
  durationMs: z.number().min(0),
};

/**
 * What the worker answers: `succeeded` with a JSON result; `failed`, `permanent` when retrying cannot help
 * (bad input, refused by the handler's rules); `throttled`: not done, try again after `retryAfterMs`, not a failure.
 */
export const TaskResultPayload = z.discriminatedUnion('outcome', [
  z.object({ ...resultFields, outcome: z.literal('succeeded'), result: z.unknown() }),
  z.object({ ...resultFields, outcome: z.literal('failed'), permanent: z.boolean(), error: z.string().max(MAX_ERROR_LENGTH + 1) }),
  z.object({ ...resultFields, outcome: z.literal('throttled'), retryAfterMs: z.int().min(0).max(3_600_000) }),
]);
export type TaskResult = z.infer<typeof TaskResultPayload>;

export function truncateError(text: string): string {
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH)}…` : text;
}
