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

/** Which attempt at which item an outcome answers. */
export interface AttemptAt {
  jobId: string;
  itemKey: string;
  attemptId: string;
}

/**
 * Records attempts' outcomes, each only if it is the attempt its item is waiting for (a late answer to an
 * attempt whose lease ran out, or a duplicate, changes nothing). A batch (the results one consumer delivery
 * window brought) costs one statement per table and one job-row update per job, not one per item: the job
 * row is the one every outcome of a job must change, so per-item updates queued behind its lock.
 * Locks the items (in key order), then their jobs (in id order): every writer takes them in that order,
 * so replicas recording results, expiring leases and cancelling never deadlock.
 */
export async function applyOutcomes(tx: PoolClient, outcomes: { at: AttemptAt; outcome: AttemptOutcome }[]): Promise<AppliedOutcome[]> {
  if (outcomes.length === 0) return [];
  await commitWithoutWaitingForDisk(tx);
  // The jobs' settings are read without their locks: every outcome of a job needs that lock, so it is taken
  // last and held for as short as possible. A cancel this misses is caught by the dispatcher's sweep.
  const { rows } = await tx.query<ItemState>(
    `SELECT i.job_id, i.key, i.status, i.attempt_id, i.failures, j.type, j.retry_limit, j.backoff_ms, j.max_backoff_ms, j.cancel_requested
     FROM job_items i JOIN jobs j ON j.id = i.job_id
     WHERE (i.job_id, i.key) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))
     ORDER BY i.job_id, i.key FOR UPDATE OF i`, [outcomes.map((o) => o.at.jobId), outcomes.map((o) => o.at.itemKey)]);
  const waiting = new Map(rows.filter((row) => row.status === 'running').map((row) => [`${row.job_id}/${row.key}`, row]));
  const changes: Change[] = [];
  for (const { at, outcome } of outcomes) {
    const item = waiting.get(`${at.jobId}/${at.itemKey}`);
    if (!item || item.attempt_id !== at.attemptId) continue;
    // One outcome per attempt, even if a batch held two.
    waiting.delete(`${at.jobId}/${at.itemKey}`);
    const next = decide(outcome, item.failures, item);
    changes.push({ item, outcome, next, delayMs: next.item === 'retrying' || next.item === 'throttled' ? next.delayMs : 0 });
  }
  if (changes.length === 0) return [];

  const column = <T>(pick: (change: Change) => T) => changes.map(pick);
  await tx.query(
    `UPDATE job_items i SET status = u.status, failures = i.failures + u.failed, duration_ms = u.duration_ms, attempt_id = NULL, lease_until = NULL,
       result = CASE WHEN u.status = 'succeeded' THEN u.result ELSE i.result END,
       last_error = COALESCE(u.error, i.last_error),
       available_at = now() + u.delay_ms * interval '1 millisecond',
       finished_at = CASE WHEN u.status IN ('succeeded', 'failed', 'cancelled') THEN now() END
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::int[], $6::jsonb[], $7::text[], $8::float8[])
       AS u(job_id, key, status, failed, duration_ms, result, error, delay_ms)
     WHERE i.job_id = u.job_id AND i.key = u.key`,
    [column((c) => c.item.job_id), column((c) => c.item.key), column((c) => itemStatus(c.next.item)),
      column((c) => (c.outcome.kind === 'failed' ? 1 : 0)), column((c) => Math.round(c.outcome.durationMs)),
      column((c) => (c.outcome.kind === 'succeeded' ? JSON.stringify(c.outcome.result ?? null) : null)),
      column((c) => (c.outcome.kind === 'failed' ? c.outcome.error : null)), column((c) => c.delayMs)]);

  const applied: AppliedOutcome[] = [];
  for (const [jobId, ofJob] of [...Map.groupBy(changes, (c) => c.item.job_id)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const count = (...items: AppliedOutcome['item'][]) => ofJob.filter((c) => items.includes(c.next.item)).length;
    const pauseMs = Math.max(0, ...ofJob.filter((c) => c.next.item === 'throttled').map((c) => c.delayMs));
    const { rows: [updated] } = await tx.query<JobRow>(
      `UPDATE jobs SET running = running - $2, pending = pending + $3,
         succeeded = succeeded + $4, failed = failed + $5, cancelled = cancelled + $6, retries = retries + $3, throttles = throttles + $7,
         paused_until = GREATEST(paused_until, now() + $8::float8 * interval '1 millisecond'), version = version + 1
       WHERE id = $1 RETURNING ${JOB_COLUMNS}`,
      [jobId, ofJob.length, count('retrying', 'throttled'), count('succeeded'), count('failed'), count('cancelled'), count('throttled'), pauseMs]);
    const job = await finishIfDone(tx, updated!);
    for (const change of ofJob) applied.push({ type: change.item.type, item: change.next.item, durationMs: change.outcome.durationMs, job });
  }
  return applied;
}

type ItemState = { job_id: string; key: string; status: string; attempt_id: string | null; failures: number } & JobSettings;
interface Change {
  item: ItemState;
  outcome: AttemptOutcome;
  next: Decision;
  delayMs: number;
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
