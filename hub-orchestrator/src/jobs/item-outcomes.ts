import type { PoolClient } from '@hubspoke/kit';
import { backoffDelayMs } from './backoff.js';
import { jobFinished } from './job-events.js';
import { finalStatus, JOB_COLUMNS, type JobRow } from './job-row.js';

/** How one attempt at an item ended: a worker's answer, or its lease running out (a transient failure). */
export type AttemptOutcome =
  | { kind: 'succeeded'; result: unknown; durationMs: number }
  | { kind: 'failed'; permanent: boolean; error: string; durationMs: number }
  | { kind: 'throttled'; retryAfterMs: number; durationMs: number };

/** What became of the item: for metrics and for waking the dispatcher. */
export interface AppliedOutcome {
  type: string;
  item: 'succeeded' | 'failed' | 'retrying' | 'throttled' | 'cancelled';
  durationMs: number;
  job: JobRow;
}

/**
 * Records an attempt's outcome, if it is the attempt the item is waiting for (a late answer to an attempt
 * whose lease ran out, or a duplicate, changes nothing). Locks the item, then its job: every writer takes
 * them in that order, so replicas recording results, expiring leases and cancelling never deadlock.
 */
export async function applyOutcome(tx: PoolClient, at: { jobId: string; itemKey: string; attemptId: string }, outcome: AttemptOutcome): Promise<AppliedOutcome | undefined> {
  await commitWithoutWaitingForDisk(tx);
  // The job's settings are read without its lock: every outcome of a job needs that lock, so it is taken by
  // the last statement and held for one round trip. A cancel this misses is caught by the dispatcher's sweep.
  const { rows: [item] } = await tx.query<{ status: string; attempt_id: string | null; failures: number } & JobSettings>(
    `SELECT i.status, i.attempt_id, i.failures, j.type, j.retry_limit, j.backoff_ms, j.max_backoff_ms, j.cancel_requested
     FROM job_items i JOIN jobs j ON j.id = i.job_id WHERE i.job_id = $1 AND i.key = $2 FOR UPDATE OF i`, [at.jobId, at.itemKey]);
  if (!item || item.status !== 'running' || item.attempt_id !== at.attemptId) return undefined;

  const next = decide(outcome, item.failures, item);
  const retryAfterMs = next.item === 'retrying' || next.item === 'throttled' ? next.delayMs : 0;
  await tx.query(
    `UPDATE job_items SET status = $3, failures = failures + $4, duration_ms = $5, attempt_id = NULL, lease_until = NULL,
       result = CASE WHEN $3 = 'succeeded' THEN $6::jsonb ELSE result END,
       last_error = COALESCE($7, last_error),
       available_at = now() + $8::float8 * interval '1 millisecond',
       finished_at = CASE WHEN $3 IN ('succeeded', 'failed', 'cancelled') THEN now() END
     WHERE job_id = $1 AND key = $2`,
    [at.jobId, at.itemKey, itemStatus(next.item), outcome.kind === 'failed' ? 1 : 0, Math.round(outcome.durationMs),
      outcome.kind === 'succeeded' ? JSON.stringify(outcome.result ?? null) : null, outcome.kind === 'failed' ? outcome.error : null, retryAfterMs]);
  const back = next.item === 'retrying' || next.item === 'throttled' ? 1 : 0;
  const { rows: [updated] } = await tx.query<JobRow>(
    `UPDATE jobs SET running = running - 1, pending = pending + $2,
       succeeded = succeeded + $3, failed = failed + $4, cancelled = cancelled + $5, retries = retries + $2, throttles = throttles + $6,
       paused_until = GREATEST(paused_until, now() + $7::float8 * interval '1 millisecond'), version = version + 1
     WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
    [at.jobId, back, next.item === 'succeeded' ? 1 : 0, next.item === 'failed' ? 1 : 0, next.item === 'cancelled' ? 1 : 0,
      next.item === 'throttled' ? 1 : 0, next.item === 'throttled' ? retryAfterMs : 0]);
  return { type: item.type, item: next.item, durationMs: outcome.durationMs, job: await finishIfDone(tx, updated!) };
}

type JobSettings = Pick<JobRow, 'type' | 'retry_limit' | 'backoff_ms' | 'max_backoff_ms' | 'cancel_requested'>;

/**
 * Cancels a cancelled job's pending items (items first, then the job: every writer's lock order). Run by
 * the cancel itself and again by the dispatcher for an item an outcome put back in line as the cancel ran.
 */
export async function cancelPending(tx: PoolClient, jobId: string): Promise<JobRow | undefined> {
  const { rowCount } = await tx.query(`UPDATE job_items SET status = 'cancelled', finished_at = now() WHERE job_id = $1 AND status = 'pending'`, [jobId]);
  const { rows: [updated] } = await tx.query<JobRow>(
    `UPDATE jobs SET cancel_requested = true, pending = pending - $2, cancelled = cancelled + $2, version = version + 1
     WHERE id = $1 AND status IN ('queued', 'running') RETURNING ${JOB_COLUMNS}`, [jobId, rowCount ?? 0]);
  return updated && finishIfDone(tx, updated);
}

type Decision = { item: 'succeeded' | 'failed' | 'cancelled' } | { item: 'retrying' | 'throttled'; delayMs: number };

function decide(outcome: AttemptOutcome, failures: number, job: JobSettings): Decision {
  switch (outcome.kind) {
    case 'succeeded': return { item: 'succeeded' };
    case 'failed':
      if (outcome.permanent || failures + 1 > job.retry_limit) return { item: 'failed' };
      if (job.cancel_requested) return { item: 'cancelled' };
      return { item: 'retrying', delayMs: backoffDelayMs(failures + 1, { backoffMs: job.backoff_ms, maxBackoffMs: job.max_backoff_ms }) };
    case 'throttled':
      return job.cancel_requested ? { item: 'cancelled' } : { item: 'throttled', delayMs: outcome.retryAfterMs };
  }
}

const itemStatus = (item: AppliedOutcome['item']) => (item === 'retrying' || item === 'throttled' ? 'pending' : item);

/** A job with nothing pending or running gets its final status and publishes `job.finished`, in the caller's transaction. */
export async function finishIfDone(tx: PoolClient, job: JobRow): Promise<JobRow> {
  if (job.pending > 0 || job.running > 0 || (job.status !== 'queued' && job.status !== 'running')) return job;
  const { rows: [finished] } = await tx.query<JobRow>(
    `UPDATE jobs SET status = $2, finished_at = now(), started_at = COALESCE(started_at, now()), version = version + 1
     WHERE id = $1 RETURNING ${JOB_COLUMNS}`, [job.id, finalStatus(job)]);
  await jobFinished(tx, finished!);
  return finished!;
}

/**
 * Every outcome of a job locks its row, so their commits queue behind one another: waiting for each WAL flush
 * there caps a job at a few hundred items per second. Not waiting is safe here: a commit lost in a Postgres
 * crash leaves the item running until its lease expires, and the retry finds the worker's stored result.
 */
export function commitWithoutWaitingForDisk(tx: PoolClient) {
  return tx.query('SET LOCAL synchronous_commit = off');
}
