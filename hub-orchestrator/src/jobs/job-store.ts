import { createHash, randomUUID } from 'node:crypto';
import { isUniqueViolation, withTransaction, type Pool } from '@hubspoke/kit';
import { cancelPending } from './item-outcomes.js';
import { idempotencyConflict, invalidCursor, jobNotActive, nothingToRetry } from './job-errors.js';
import { jobCreated } from './job-events.js';
import { JOB_COLUMNS, type JobRow } from './job-row.js';
import type { ItemStatus, JobStatus } from './job-schemas.js';

export interface NewJob {
  type: string;
  creator: { userId: string; role: 'user' | 'admin' };
  correlationId: string;
  items: { key: string; input: unknown }[];
  maxParallel: number;
  ratePerSecond: number | null;
  retry: { limit: number; backoffMs: number; maxBackoffMs: number };
  itemTimeoutMs: number;
  idempotency?: { key: string; requestHash: string };
}

export interface Quotas {
  maxActiveJobs: number;
  maxOpenItems: number;
}

export type CreateOutcome = { job: JobRow; created: boolean } | { quota: 'active-jobs' | 'open-items' };

const PAGE_SIZE = 100;

/** The jobs tables: every read and every change a request makes. Dispatch and results are in dispatcher.ts and item-outcomes.ts. */
export function jobStore(db: Pool) {
  return {
    /**
     * Stores a job and its items, with `job.created` in the same transaction. Per creator, creations take
     * turns (advisory lock), so quotas and idempotency keys hold across replicas.
     */
    create(job: NewJob, quotas: Quotas): Promise<CreateOutcome> {
      return withTransaction(db, async (tx): Promise<CreateOutcome> => {
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`jobs:${job.creator.userId}`]);
        if (job.idempotency) {
          const { rows: [existing] } = await tx.query<JobRow & { request_hash: string }>(
            `SELECT ${JOB_COLUMNS}, request_hash FROM jobs WHERE creator_id = $1 AND idempotency_key = $2`, [job.creator.userId, job.idempotency.key]);
          if (existing) {
            if (existing.request_hash !== job.idempotency.requestHash) throw idempotencyConflict();
            return { job: existing, created: false };
          }
        }
        const { rows: [open] } = await tx.query<{ jobs: number; items: number }>(
          `SELECT count(*)::int AS jobs, COALESCE(sum(pending + running), 0)::int AS items FROM jobs
           WHERE creator_id = $1 AND status IN ('queued', 'running')`, [job.creator.userId]);
        if (open!.jobs + 1 > quotas.maxActiveJobs) return { quota: 'active-jobs' };
        if (open!.items + job.items.length > quotas.maxOpenItems) return { quota: 'open-items' };
        const { rows: [row] } = await tx.query<JobRow>(
          `INSERT INTO jobs (id, type, creator_id, creator_role, correlation_id, status, max_parallel, rate_per_second, retry_limit, backoff_ms,
             max_backoff_ms, item_timeout_ms, total, pending, idempotency_key, request_hash)
           VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, $8, $9, $10, $11, $12, $12, $13, $14) RETURNING ${JOB_COLUMNS}`,
          [randomUUID(), job.type, job.creator.userId, job.creator.role, job.correlationId, job.maxParallel, job.ratePerSecond, job.retry.limit,
            job.retry.backoffMs, job.retry.maxBackoffMs, job.itemTimeoutMs, job.items.length, job.idempotency?.key ?? null, job.idempotency?.requestHash ?? null]);
        await tx.query(
          `INSERT INTO job_items (job_id, key, seq, input, status)
           SELECT $1, key, seq, input, 'pending' FROM unnest($2::text[], $3::jsonb[]) WITH ORDINALITY AS t(key, input, seq)`,
          [row!.id, job.items.map((item) => item.key), job.items.map((item) => JSON.stringify(item.input ?? null))]);
        await jobCreated(tx, row!);
        return { job: row!, created: true };
      }).catch((error: unknown) => {
        // Two replicas racing on one idempotency key: the loser reads the winner's job.
        if (job.idempotency && isUniqueViolation(error)) return this.create(job, quotas);
        throw error;
      });
    },

    async get(id: string): Promise<JobRow | undefined> {
      const { rows: [row] } = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [id]);
      return row;
    },

    async getMany(ids: string[]): Promise<JobRow[]> {
      const { rows } = await db.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ANY($1::uuid[])`, [ids]);
      return rows;
    },

    /** Newest first; `creatorId` undefined lists everyone's (admins). */
    async list({ creatorId, status, cursor }: { creatorId?: string; status?: JobStatus; cursor?: string }) {
      const after = cursor === undefined ? undefined : decodeCursor(cursor, (parts) => parts.length === 2 && !Number.isNaN(Date.parse(parts[0]!)) && UUID.test(parts[1]!));
      const { rows } = await db.query<JobRow>(
        `SELECT ${JOB_COLUMNS} FROM jobs
         WHERE ($1::text IS NULL OR creator_id = $1) AND ($2::text IS NULL OR status = $2)
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
         ORDER BY created_at DESC, id DESC LIMIT $5`,
        [creatorId ?? null, status ?? null, after?.[0] ?? null, after?.[1] ?? null, PAGE_SIZE + 1]);
      const page = rows.slice(0, PAGE_SIZE);
      const last = page.at(-1);
      return { rows: page, nextCursor: rows.length > PAGE_SIZE && last ? encodeCursor([last.created_at.toISOString(), last.id]) : null };
    },

    /** In key order. */
    async items(jobId: string, { status, cursor }: { status?: ItemStatus; cursor?: string }) {
      const after = cursor === undefined ? undefined : decodeCursor(cursor, (parts) => parts.length === 1);
      const { rows } = await db.query<{ key: string; status: ItemStatus; attempts: number; duration_ms: number | null; result: unknown; last_error: string | null }>(
        `SELECT key, status, attempts, duration_ms, result, last_error FROM job_items
         WHERE job_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR key > $3)
         ORDER BY key LIMIT $4`, [jobId, status ?? null, after?.[0] ?? null, PAGE_SIZE + 1]);
      const page = rows.slice(0, PAGE_SIZE);
      const last = page.at(-1);
      return { rows: page, nextCursor: rows.length > PAGE_SIZE && last ? encodeCursor([last.key]) : null };
    },

    /**
     * Cancels what has not started; what runs finishes and counts. Items first, then the job: the lock
     * order of every writer (item-outcomes.ts).
     */
    cancel(id: string): Promise<JobRow> {
      return withTransaction(db, async (tx) => {
        const cancelled = await cancelPending(tx, id);
        if (!cancelled) throw jobNotActive();
        return cancelled;
      });
    },

    /** Puts a finished job's failed items back in line (fresh retries); every other item keeps its result. */
    retryFailed(id: string): Promise<JobRow> {
      return withTransaction(db, async (tx) => {
        // A finished job has no item in flight, so locking the job first cannot meet a result's item → job order.
        const { rows: [job] } = await tx.query<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1 FOR UPDATE`, [id]);
        if (!job || job.status === 'queued' || job.status === 'running' || job.failed === 0) throw nothingToRetry();
        const { rowCount } = await tx.query(
          `UPDATE job_items SET status = 'pending', failures = 0, available_at = '-infinity', finished_at = NULL
           WHERE job_id = $1 AND status = 'failed'`, [id]);
        const { rows: [updated] } = await tx.query<JobRow>(
          `UPDATE jobs SET status = 'running', failed = failed - $2, pending = pending + $2, finished_at = NULL, cancel_requested = false,
             paused_until = '-infinity', version = version + 1
           WHERE id = $1 RETURNING ${JOB_COLUMNS}`, [id, rowCount ?? 0]);
        return updated!;
      });
    },
  };
}

export type JobStore = ReturnType<typeof jobStore>;

/** The same body gives the same hash, whatever the order of its keys. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const encodeCursor = (parts: string[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');

function decodeCursor(cursor: string, valid: (parts: string[]) => boolean): string[] {
  try {
    const parts: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parts) && parts.every((part) => typeof part === 'string') && valid(parts)) return parts;
  } catch {
    // falls through to the 400
  }
  throw invalidCursor();
}
