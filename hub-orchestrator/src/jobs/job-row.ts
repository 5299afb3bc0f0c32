import type { JobStatus, JobView } from './job-schemas.js';

/** A `jobs` row as the queries here select it (`JOB_COLUMNS`). */
export interface JobRow {
  id: string;
  type: string;
  creator_id: string;
  creator_role: 'user' | 'admin';
  correlation_id: string;
  status: JobStatus;
  max_parallel: number;
  rate_per_second: number | null;
  retry_limit: number;
  backoff_ms: number;
  max_backoff_ms: number;
  item_timeout_ms: number;
  total: number;
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  retries: number;
  version: string;
  cancel_requested: boolean;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export const JOB_COLUMNS = `id, type, creator_id, creator_role, correlation_id, status, max_parallel, rate_per_second, retry_limit, backoff_ms,
  max_backoff_ms, item_timeout_ms, total, pending, running, succeeded, failed, cancelled, retries, version::text, cancel_requested,
  created_at, started_at, finished_at`;

export function jobView(row: JobRow, now = Date.now()): JobView {
  const end = row.finished_at?.getTime() ?? now;
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    total: row.total,
    pending: row.pending,
    running: row.running,
    succeeded: row.succeeded,
    failed: row.failed,
    cancelled: row.cancelled,
    retries: row.retries,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    durationMs: row.started_at ? Math.max(0, end - row.started_at.getTime()) : null,
  };
}

/** What a job that has nothing left pending or running ends as. */
export function finalStatus(row: Pick<JobRow, 'cancel_requested' | 'succeeded' | 'failed'>): JobStatus {
  if (row.cancel_requested) return 'cancelled';
  if (row.failed === 0) return 'succeeded';
  return row.succeeded === 0 ? 'failed' : 'partially_failed';
}
