import { JobCreatedV1, JobFinishedV1 } from '@hubspoke/contracts';
import { createEvent, enqueue, type PoolClient } from '@hubspoke/kit';
import { jobView, type JobRow } from './job-row.js';

export const HUB_SOURCE = 'hub';

/** `job.created`, in the transaction that stores the job. */
export function jobCreated(tx: PoolClient, row: Pick<JobRow, 'id' | 'type' | 'creator_id' | 'total'>): Promise<void> {
  return enqueue(tx, createEvent(JobCreatedV1, HUB_SOURCE, { jobId: row.id, taskType: row.type, creatorId: row.creator_id, total: row.total }));
}

/** `job.finished` with the counts, in the transaction that records the job's last outcome. */
export function jobFinished(tx: PoolClient, row: JobRow): Promise<void> {
  const view = jobView(row);
  if (view.status === 'queued' || view.status === 'running') throw new Error(`job ${row.id} is not finished`);
  return enqueue(tx, createEvent(JobFinishedV1, HUB_SOURCE, {
    jobId: row.id, taskType: row.type, creatorId: row.creator_id, status: view.status, total: row.total,
    succeeded: row.succeeded, failed: row.failed, cancelled: row.cancelled, retries: row.retries, durationMs: view.durationMs ?? 0,
  }));
}
