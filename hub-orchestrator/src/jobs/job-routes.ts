import type { Request } from 'express';
import { currentRequestId, defineRoute, requireAuth, taskInputValidator, type ApiRoute, type RequestAuth } from '@hubspoke/kit';
import { z } from 'zod';
import {
  activeJobsQuota, duplicateKeys, idempotencyConflict, inputTooLarge, invalidCursor, invalidIdempotencyKey, invalidInput, invalidJobId,
  jobNotActive, jobNotFound, nothingToRetry, openItemsQuota, tooManyItems, typeNotAllowed, unknownTaskType,
} from './job-errors.js';
import { jobView, type JobRow } from './job-row.js';
import { CreatedJob, CreateJobBody, ItemPage, ItemsQuery, JOB_BOUNDS, JobPage, JobParams, JobsQuery, JobView } from './job-schemas.js';
import { requestHash, type JobStore } from './job-store.js';
import type { JobWatch } from './job-watch.js';
import type { TaskCatalog } from './task-catalog.js';

export interface JobLimits {
  maxItems: number;
  maxInputBytes: number;
  maxActivePerUser: number;
  maxOpenItemsPerUser: number;
}

export interface JobRoutesDeps {
  store: JobStore;
  catalog: TaskCatalog;
  watch: JobWatch;
  limits: JobLimits;
  /** A new job or retried items: dispatch now rather than at the next poll. */
  onWork: () => void;
}

const IdParams = JobParams.extend({ id: z.uuid() });
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;
const noStore = { 'Cache-Control': 'no-store' };

/** `/api/hub/jobs…`: jobs belong to their creator; admins see every job; anyone else's is 404, like a missing one. */
export function jobRoutes({ store, catalog, watch, limits, onWork }: JobRoutesDeps): ApiRoute[] {
  const visibleJob = async (id: string, auth: RequestAuth): Promise<JobRow> => {
    const job = await store.get(id);
    if (!job || (auth.role !== 'admin' && job.creator_id !== auth.userId)) throw jobNotFound();
    return job;
  };
  const tags = ['jobs'];

  return [
    defineRoute({
      method: 'post', path: '/jobs', tags, summary: 'Create a job: one task per item, dispatched to the spokes that serve its type',
      description: 'Send `Idempotency-Key` to make a retry of this request return the same job.',
      request: { body: CreateJobBody },
      response: { status: 202, description: 'Accepted; `Location` is the job', body: CreatedJob, headers: noStore },
      errors: [unknownTaskType, typeNotAllowed, duplicateKeys, tooManyItems, inputTooLarge, invalidInput, activeJobsQuota, openItemsQuota, idempotencyConflict, invalidIdempotencyKey],
      handler: async ({ body }, req, res) => {
        const auth = requireAuth(req);
        const idempotencyKey = req.get('idempotency-key');
        if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) throw invalidIdempotencyKey();
        checkItems(body, limits);
        const declaration = catalog.find(body.type);
        if (!declaration) throw unknownTaskType(body.type);
        if (declaration.allowed === 'admins' && auth.role !== 'admin') throw typeNotAllowed(body.type);
        checkInputs(body, taskInputValidator(declaration));
        const outcome = await store.create({
          type: body.type,
          creator: { userId: auth.userId, role: auth.role },
          correlationId: currentRequestId() ?? 'none',
          items: body.items,
          maxParallel: body.maxParallel ?? JOB_BOUNDS.maxParallel.default,
          ratePerSecond: body.ratePerSecond ?? null,
          retry: body.retry ?? { limit: JOB_BOUNDS.retryLimit.default, backoffMs: JOB_BOUNDS.backoffMs.default, maxBackoffMs: JOB_BOUNDS.maxBackoffMs.default },
          itemTimeoutMs: body.itemTimeoutMs ?? JOB_BOUNDS.itemTimeoutMs.default,
          ...(idempotencyKey !== undefined && { idempotency: { key: idempotencyKey, requestHash: requestHash(body) } }),
        }, { maxActiveJobs: limits.maxActivePerUser, maxOpenItems: limits.maxOpenItemsPerUser });
        if ('quota' in outcome) throw outcome.quota === 'active-jobs' ? activeJobsQuota(limits.maxActivePerUser) : openItemsQuota(limits.maxOpenItemsPerUser);
        if (outcome.created) onWork();
        res.setHeader('Location', `/api/hub/jobs/${outcome.job.id}`);
        return { id: outcome.job.id, status: outcome.job.status, total: outcome.job.total };
      },
    }),
    defineRoute({
      method: 'get', path: '/jobs', tags, summary: 'Your jobs, newest first (admins: everyone\'s)',
      request: { query: JobsQuery },
      response: { description: 'A page of jobs; pass `nextCursor` as `cursor` for the next', body: JobPage, headers: noStore },
      errors: [invalidCursor],
      handler: async ({ query }, req) => {
        const auth = requireAuth(req);
        const page = await store.list({ creatorId: auth.role === 'admin' ? undefined : auth.userId, ...query });
        return { jobs: page.rows.map((row) => jobView(row)), nextCursor: page.nextCursor };
      },
    }),
    defineRoute({
      method: 'get', path: '/jobs/:id', tags, summary: 'A job\'s status and counts',
      request: { params: IdParams, invalidParams: invalidJobId },
      response: { description: 'The job', body: JobView, headers: noStore },
      errors: [jobNotFound],
      handler: async ({ params }, req) => jobView(await visibleJob(params.id, requireAuth(req))),
    }),
    defineRoute({
      method: 'get', path: '/jobs/:id/items', tags, summary: 'A job\'s items in key order, with their result or last error',
      request: { params: IdParams, query: ItemsQuery, invalidParams: invalidJobId },
      response: { description: 'A page of items; pass `nextCursor` as `cursor` for the next', body: ItemPage, headers: noStore },
      errors: [jobNotFound, invalidCursor],
      handler: async ({ params, query }, req) => {
        await visibleJob(params.id, requireAuth(req));
        const page = await store.items(params.id, query);
        return {
          items: page.rows.map((row) => ({
            key: row.key, status: row.status, attempts: row.attempts, durationMs: row.duration_ms,
            ...(row.status === 'succeeded' ? { result: row.result } : {}),
            ...(row.last_error !== null && row.status !== 'succeeded' ? { lastError: row.last_error } : {}),
          })),
          nextCursor: page.nextCursor,
        };
      },
    }),
    defineRoute({
      method: 'get', path: '/jobs/:id/events', tags, summary: 'Progress as server-sent events: the counts after each change, then the summary',
      description: 'Events `progress` and finally `summary`, each the whole job; reconnect with `Last-Event-ID` to resume. Comment lines keep the stream alive.',
      request: { params: IdParams, invalidParams: invalidJobId },
      response: { description: 'An event stream', contentType: 'text/event-stream', body: z.string() },
      errors: [jobNotFound],
      handler: async ({ params }, req, res) => {
        const job = await visibleJob(params.id, requireAuth(req));
        await watch.stream(res, job, lastEventId(req));
        return '';
      },
    }),
    defineRoute({
      method: 'delete', path: '/jobs/:id', tags, summary: 'Cancel what has not started; what runs finishes and is counted',
      request: { params: IdParams, invalidParams: invalidJobId },
      response: { description: 'The job after cancelling', body: JobView, headers: noStore },
      errors: [jobNotFound, jobNotActive],
      handler: async ({ params }, req) => {
        await visibleJob(params.id, requireAuth(req));
        return jobView(await store.cancel(params.id));
      },
    }),
    defineRoute({
      method: 'post', path: '/jobs/:id/retry-failed', tags, summary: 'Run a finished job\'s failed items again, keeping every other result',
      request: { params: IdParams, invalidParams: invalidJobId },
      response: { status: 202, description: 'The job, running again', body: JobView, headers: noStore },
      errors: [jobNotFound, nothingToRetry],
      handler: async ({ params }, req) => {
        await visibleJob(params.id, requireAuth(req));
        const job = await store.retryFailed(params.id);
        onWork();
        return jobView(job);
      },
    }),
  ];
}

function checkItems(body: CreateJobBody, limits: JobLimits): void {
  // A job larger than the open-items quota could never be accepted: 413 (change the request), not 429 (wait).
  const maxItems = Math.min(limits.maxItems, limits.maxOpenItemsPerUser);
  if (body.items.length > maxItems) throw tooManyItems(maxItems);
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const { key, input } of body.items) {
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
    if (Buffer.byteLength(JSON.stringify(input ?? null)) > limits.maxInputBytes) throw inputTooLarge(key, limits.maxInputBytes);
  }
  if (duplicates.size > 0) throw duplicateKeys([...duplicates]);
}

function checkInputs(body: CreateJobBody, validator: z.ZodType): void {
  const problems: { key: string; problem: string }[] = [];
  for (const { key, input } of body.items) {
    const result = validator.safeParse(input);
    if (!result.success) problems.push({ key, problem: result.error.issues.map((i) => `${i.path.join('.') || 'input'} ${i.message}`).join(', ') });
    if (problems.length >= 100) break;
  }
  if (problems.length > 0) throw invalidInput(problems);
}

function lastEventId(req: Request): number | undefined {
  const value = req.get('last-event-id');
  return value !== undefined && /^\d{1,15}$/.test(value) ? Number(value) : undefined;
}
