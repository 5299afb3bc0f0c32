import { z } from 'zod';
import { JOB_STATUSES } from '../domain/report-types.js';

export const AcceptedBody = z.object({
  accepted: z.number().int().meta({ description: 'Events stored' }),
  duplicates: z.number().int().meta({ description: 'Events whose id was already stored (a retry): not stored again' }),
}).meta({ id: 'AcceptedEvents' });

export const SeriesBody = z.object({
  type: z.string(),
  interval: z.enum(['minute', 'hour', 'day']),
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
  total: z.number(),
  buckets: z.array(z.object({ start: z.iso.datetime({ offset: true }), count: z.number() })).meta({ description: 'Every bucket of the range, zero-filled' }),
}).meta({ id: 'Series' });

export const SummaryBody = z.object({
  from: z.string(),
  to: z.string(),
  days: z.array(z.object({
    day: z.string(),
    signups: z.number(),
    logins: z.number(),
    activeUsers: z.number().meta({ description: 'Distinct users with an event that day' }),
    notifications: z.object({ sent: z.number(), failed: z.number() }),
    jobs: z.record(z.enum(['created', ...JOB_STATUSES]), z.number()).meta({ description: 'Jobs created that day (job.created), and finished that day by the status of their job.finished' }),
  })),
}).meta({ id: 'Summary' });

export const ActivityBody = z.object({
  events: z.array(z.object({
    id: z.uuid(),
    type: z.string(),
    version: z.number().int(),
    source: z.string(),
    occurredAt: z.iso.datetime({ offset: true }),
    data: z.record(z.string(), z.unknown()),
  })),
  nextCursor: z.string().nullable().meta({ description: 'Pass back as `cursor` for the next page; null on the last one' }),
}).meta({ id: 'Activity' });
