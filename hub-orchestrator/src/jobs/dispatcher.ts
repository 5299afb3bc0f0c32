import { publishTasks, withTransaction, type Bus, type Logger, type Pool, type PoolClient, type TaskPayload } from '@hubspoke/kit';
import { HUB_SOURCE } from './job-events.js';
import { applyOutcomes, cancelPending, type AppliedOutcome } from './item-outcomes.js';
import type { JobRow } from './job-row.js';

export interface DispatcherOptions {
  db: Pool;
  bus: Pick<Bus, 'publish'>;
  logger: Logger;
  /** Dispatching while the broker is away would only start leases on tasks that cannot be published. */
  canDispatch: () => boolean;
  /** Poll for work this often; a result recorded by this replica wakes it at once. */
  intervalMs: number;
  onOutcome: (outcome: AppliedOutcome) => void;
  onDispatched: (type: string, count: number) => void;
}

export interface Dispatcher {
  /** Run a pass now (a job was created). */
  wake: () => void;
  /** Run a pass within a few ms (a result freed a slot): the results that arrive meanwhile are served by the same pass. */
  wakeSoon: () => void;
  stop: () => Promise<void>;
}

// Per pass: a job gets at most this many items, and a pass serves at most this many jobs, least recently
// served first, so one huge job never starves the others and one pass never holds locks for long.
const ITEMS_PER_JOB_PER_PASS = 100;
const JOBS_PER_PASS = 50;
const LEASES_PER_PASS = 200;
const COALESCE_MS = 5;
/**
 * With no job queued or running anywhere, a pass is one indexed EXISTS and the next comes this much later
 * (not every intervalMs): an idle hub does not poll its database ten times a second for nothing. A job
 * created on this replica wakes it at once; one created on another is that replica's to start, and this
 * one joins within a second.
 */
const IDLE_INTERVAL_MS = 1_000;

/** A job that can take items now. */
const DISPATCHABLE = `status IN ('queued', 'running') AND NOT cancel_requested AND pending > 0 AND running < max_parallel
  AND paused_until <= now() AND next_dispatch_at <= now()`;

interface Dispatched {
  jobId: string;
  type: string;
  correlationId: string;
  tasks: TaskPayload[];
}

type DispatchableJob = Pick<JobRow, 'id' | 'type' | 'creator_id' | 'creator_role' | 'correlation_id' | 'max_parallel' | 'running' | 'rate_per_second' | 'item_timeout_ms'>;

/**
 * Moves work along on every hub replica: expires leases (an attempt with no result by its deadline is a
 * failed attempt, retried with backoff), then dispatches pending items. All state is in Postgres: a job is
 * dispatched under its row lock (FOR UPDATE SKIP LOCKED), so `maxParallel` holds across replicas, and a
 * replica that dies mid-pass leaves nothing behind but a rolled-back transaction.
 */
export function startDispatcher({ db, bus, logger, canDispatch, intervalMs, onOutcome, onDispatched }: DispatcherOptions): Dispatcher {
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let maintainedAt = 0;
  let soon = false;

  function wakeSoon() {
    if (stopped || soon) return;
    if (running) return void (again = true);
    soon = true;
    clearTimeout(timer);
    timer = setTimeout(wake, COALESCE_MS);
  }

  function wake() {
    if (stopped) return;
    if (running) return void (again = true);
    soon = false;
    clearTimeout(timer);
    let idle = false;
    running = pass()
      .then((found) => void (idle = found === 'idle'))
      .catch((error: unknown) => logger.warn({ err: error }, 'job dispatch pass failed; retrying'))
      .finally(() => {
        running = undefined;
        if (stopped) return;
        if (again) {
          // Results arriving during a pass are served together by the next one, a moment later.
          again = false;
          timer = setTimeout(wake, COALESCE_MS);
        } else {
          timer = setTimeout(wake, idle ? Math.max(intervalMs, IDLE_INTERVAL_MS) : intervalMs);
        }
      });
  }

  async function pass(): Promise<'idle' | 'active'> {
    // No active job: no lease to expire, no cancel to sweep, nothing to dispatch (jobs_active_idx answers it).
    const { rows: [active] } = await db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN ('queued', 'running')) AS any`);
    if (!active?.any) return 'idle';
    // Leases and cancels need looking at once per interval, not on every wake-up a result causes.
    if (Date.now() - maintainedAt >= intervalMs) {
      maintainedAt = Date.now();
      await expireLeases();
      await sweepCancelled();
    }
    if (!canDispatch()) return 'active';
    const served: string[] = [];
    while (served.length < JOBS_PER_PASS && !stopped) {
      // A dispatch lost in a Postgres crash is dispatched again under a new attempt id; the worker runs an item once to success.
      const next = await withTransaction(db, (tx) => dispatchNextJob(tx, served), { synchronousCommit: false });
      if (!next) break;
      served.push(next.dispatched.jobId);
      await publish(next.dispatched);
      if (!next.more) break;
    }
    return 'active';
  }

  /** Sends the committed attempts; one the broker did not take is a failed attempt at once (retried with backoff). */
  async function publish({ jobId, type, correlationId, tasks }: Dispatched) {
    if (tasks.length === 0) return;
    const unpublished = await publishTasks(bus, { source: HUB_SOURCE, type, correlationId, tasks });
    if (unpublished.length === 0) return;
    logger.warn({ jobId, unpublished: unpublished.length, error: unpublished[0]!.error }, 'job tasks not published: those attempts failed');
    const outcomes = await withTransaction(db, (tx) => applyOutcomes(tx, unpublished.map(({ task, error }) => ({
      at: { jobId, itemKey: task.itemKey, attemptId: task.attemptId },
      outcome: { kind: 'failed', permanent: false, error: `the task was not published: ${error}`, durationMs: 0 },
    })))).catch((error: unknown) => {
      // Their leases run out instead, with the same effect.
      logger.warn({ err: error, jobId }, 'recording unpublished tasks failed');
      return [];
    });
    for (const outcome of outcomes) onOutcome(outcome);
  }

  async function expireLeases() {
    const outcomes = await withTransaction(db, async (tx) => {
      // Sorted by job: transactions that lock several jobs always lock them in the same order.
      const { rows } = await tx.query<{ job_id: string; key: string; attempt_id: string; item_timeout_ms: number }>(
        `SELECT i.job_id, i.key, i.attempt_id, j.item_timeout_ms FROM job_items i JOIN jobs j ON j.id = i.job_id
         WHERE i.status = 'running' AND i.lease_until < now()
         ORDER BY i.job_id, i.key LIMIT $1 FOR UPDATE OF i SKIP LOCKED`, [LEASES_PER_PASS]);
      return applyOutcomes(tx, rows.map((row) => ({
        at: { jobId: row.job_id, itemKey: row.key, attemptId: row.attempt_id },
        outcome: { kind: 'failed', permanent: false, error: `no result within ${row.item_timeout_ms} ms (itemTimeoutMs)`, durationMs: row.item_timeout_ms },
      })));
    });
    for (const outcome of outcomes) onOutcome(outcome);
    if (outcomes.length > 0) logger.info({ expired: outcomes.length }, 'job item leases expired: attempts failed');
  }

  /** An item whose outcome put it back in line while its job was being cancelled is cancelled now. */
  async function sweepCancelled() {
    const { rows } = await db.query<{ id: string }>(
      `SELECT id FROM jobs WHERE cancel_requested AND pending > 0 AND status IN ('queued', 'running') LIMIT $1`, [JOBS_PER_PASS]);
    for (const { id } of rows) await withTransaction(db, (tx) => cancelPending(tx, id));
  }

  /** Leases one job's next items: the tasks to publish once committed and whether another job may take some, or undefined when none can now. */
  async function dispatchNextJob(tx: PoolClient, served: string[]): Promise<{ dispatched: Dispatched; more: boolean } | undefined> {
    const { rows: [job] } = await tx.query<DispatchableJob>(
      `SELECT id, type, creator_id, creator_role, correlation_id, max_parallel, running, rate_per_second, item_timeout_ms FROM jobs
       WHERE ${DISPATCHABLE} AND id <> ALL($1::uuid[])
       ORDER BY last_dispatch_at, created_at LIMIT 1 FOR UPDATE SKIP LOCKED`, [served]);
    if (!job) return undefined;
    const slots = Math.min(job.max_parallel - job.running, ITEMS_PER_JOB_PER_PASS, burstOf(job.rate_per_second));
    const { rows: items } = await tx.query<{ key: string; input: unknown; attempts: number; attempt_id: string; lease_until: Date }>(
      `WITH next AS (
         SELECT key FROM job_items WHERE job_id = $1 AND status = 'pending' AND available_at <= now()
         ORDER BY (attempts = 0), available_at, seq LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE job_items i SET status = 'running', attempts = attempts + 1, attempt_id = gen_random_uuid(),
         lease_until = now() + $3::float8 * interval '1 millisecond', attempt_started_at = now()
       FROM next WHERE i.job_id = $1 AND i.key = next.key
       RETURNING i.key, i.input, i.attempts, i.attempt_id, i.lease_until`, [job.id, slots, job.item_timeout_ms]);
    // With a rate, the next dispatch waits as long as these items take at that rate.
    await tx.query(
      `UPDATE jobs SET running = running + $2, pending = pending - $2, last_dispatch_at = now(),
         status = CASE WHEN $2 > 0 THEN 'running' ELSE status END,
         started_at = CASE WHEN $2 > 0 THEN COALESCE(started_at, now()) ELSE started_at END,
         next_dispatch_at = CASE WHEN rate_per_second IS NULL OR $2 = 0 THEN next_dispatch_at
           ELSE GREATEST(next_dispatch_at, now()) + ($2 / rate_per_second) * interval '1 second' END,
         version = version + CASE WHEN $2 > 0 THEN 1 ELSE 0 END
       WHERE id = $1`, [job.id, items.length]);
    if (items.length > 0) onDispatched(job.type, items.length);
    // Asked here, without locks, so a pass over one busy job costs one transaction, not one more to find nothing.
    const { rows: [other] } = await tx.query<{ more: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM jobs WHERE ${DISPATCHABLE} AND id <> ALL($1::uuid[])) AS more`, [[...served, job.id]]);
    const tasks = items.map((item) => ({
      jobId: job.id, itemKey: item.key, attemptId: item.attempt_id, attempt: item.attempts, input: item.input,
      creator: { userId: job.creator_id, role: job.creator_role }, deadlineAt: item.lease_until.toISOString(),
    }));
    return { dispatched: { jobId: job.id, type: job.type, correlationId: job.correlation_id, tasks }, more: other?.more ?? false };
  }

  wake();
  return {
    wake,
    wakeSoon,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** Items one pass may send under a rate: about a tenth of a second's worth, at least one. */
function burstOf(ratePerSecond: number | null): number {
  return ratePerSecond === null ? Number.MAX_SAFE_INTEGER : Math.max(1, Math.floor(ratePerSecond / 10));
}

