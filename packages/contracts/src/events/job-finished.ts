import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/** A job has no item left to run: its summary. Published again when its failed items are retried and it finishes again. */
export const JobFinishedV1 = defineEvent('job.finished', 1, z.object({
  jobId: z.uuid(),
  taskType: z.string(),
  creatorId: z.string(),
  status: z.enum(['succeeded', 'partially_failed', 'failed', 'cancelled']),
  total: z.int().min(1),
  succeeded: z.int().min(0),
  failed: z.int().min(0),
  cancelled: z.int().min(0),
  retries: z.int().min(0),
  durationMs: z.int().min(0),
}), { producer: 'hub', userFields: ['creatorId'] });

export type JobFinishedV1Payload = z.output<typeof JobFinishedV1.payload>;
