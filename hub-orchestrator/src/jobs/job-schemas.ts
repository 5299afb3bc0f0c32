import { z } from 'zod';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'partially_failed', 'failed', 'cancelled'] as const;
export const FINAL_STATUSES = ['succeeded', 'partially_failed', 'failed', 'cancelled'] as const;
export const ITEM_STATUSES = ['pending', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export type ItemStatus = (typeof ITEM_STATUSES)[number];

/** Hard bounds of a job's own settings; the per-deployment limits (items, input size, quotas) are in config. */
export const JOB_BOUNDS = {
  maxParallel: { min: 1, max: 1_000, default: 10 },
  ratePerSecond: { min: 0.1, max: 10_000 },
  retryLimit: { max: 20, default: 3 },
  backoffMs: { min: 10, max: 3_600_000, default: 1_000 },
  maxBackoffMs: { max: 3_600_000, default: 60_000 },
  itemTimeoutMs: { min: 100, max: 3_600_000, default: 60_000 },
} as const;

// Keys appear in logs, errors and cursors: no control characters.
const ItemKey = z.string().min(1).max(200).refine((key) => ![...key].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), 'must not contain control characters');

export const CreateJobBody = z.object({
  type: z.string().min(1).max(100).meta({ description: 'A task type some live spoke serves (`GET /api/hub/registry` lists them for admins)' }),
  items: z.array(z.object({ key: ItemKey, input: z.unknown() }).strict()).min(1).meta({ description: 'Keys are unique within the job' }),
  maxParallel: z.int().min(JOB_BOUNDS.maxParallel.min).max(JOB_BOUNDS.maxParallel.max).optional()
    .meta({ description: `Items in flight at once, across every hub replica (default ${JOB_BOUNDS.maxParallel.default})` }),
  ratePerSecond: z.number().min(JOB_BOUNDS.ratePerSecond.min).max(JOB_BOUNDS.ratePerSecond.max).optional()
    .meta({ description: 'Items dispatched per second at most' }),
  retry: z.object({
    limit: z.int().min(0).max(JOB_BOUNDS.retryLimit.max),
    backoffMs: z.int().min(JOB_BOUNDS.backoffMs.min).max(JOB_BOUNDS.backoffMs.max),
    maxBackoffMs: z.int().min(JOB_BOUNDS.backoffMs.min).max(JOB_BOUNDS.maxBackoffMs.max),
  }).strict().optional().meta({ description: 'Retries of a failed item, exponential backoff with full jitter (default 3, 1 s, 60 s)' }),
  itemTimeoutMs: z.int().min(JOB_BOUNDS.itemTimeoutMs.min).max(JOB_BOUNDS.itemTimeoutMs.max).optional()
    .meta({ description: 'An attempt with no result by then is failed and retried (default 60 s)' }),
}).strict();
export type CreateJobBody = z.infer<typeof CreateJobBody>;

export const JobView = z.object({
  id: z.uuid(),
  type: z.string(),
  status: z.enum(JOB_STATUSES),
  total: z.int(),
  pending: z.int(),
  running: z.int(),
  succeeded: z.int(),
  failed: z.int(),
  cancelled: z.int(),
  retries: z.int().meta({ description: 'Attempts that were tried again: failures, timeouts and throttles' }),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
  durationMs: z.int().nullable().meta({ description: 'From the first dispatch to the last result, or so far' }),
}).meta({ id: 'Job' });
export type JobView = z.infer<typeof JobView>;

export const CreatedJob = z.object({ id: z.uuid(), status: z.enum(JOB_STATUSES), total: z.int() }).meta({ id: 'CreatedJob' });

export const ItemView = z.object({
  key: z.string(),
  status: z.enum(ITEM_STATUSES),
  attempts: z.int(),
  durationMs: z.int().nullable(),
  result: z.unknown().optional(),
  lastError: z.string().optional(),
}).meta({ id: 'JobItem' });

export const ItemPage = z.object({ items: z.array(ItemView), nextCursor: z.string().nullable() }).meta({ id: 'JobItemPage' });
export const JobPage = z.object({ jobs: z.array(JobView), nextCursor: z.string().nullable() }).meta({ id: 'JobPage' });

export const JobParams = z.object({ id: z.string() });
export const ItemsQuery = z.object({ status: z.enum(ITEM_STATUSES).optional(), cursor: z.string().max(400).optional() });
export const JobsQuery = z.object({ status: z.enum(JOB_STATUSES).optional(), cursor: z.string().max(200).optional() });
