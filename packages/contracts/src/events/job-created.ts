import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/** The hub accepted a job: `total` items of task type `taskType`, for its creator. */
export const JobCreatedV1 = defineEvent('job.created', 1, z.object({
  jobId: z.uuid(),
  taskType: z.string(),
  creatorId: z.string(),
  total: z.int().min(1),
}), { producer: 'hub', userFields: ['creatorId'] });

export type JobCreatedV1Payload = z.output<typeof JobCreatedV1.payload>;
