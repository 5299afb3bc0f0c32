import { pageQuery } from '@hubspoke/kit';
import { z } from 'zod';

/** At most this many events per POST /events (the body is also capped at 64 kB, src/app.ts). */
export const MAX_BATCH = 500;
export const MAX_PROPERTIES = 32;

const Timestamp = z.iso.datetime({ offset: true }).transform((value) => new Date(value));

/** A client event: its type is stored as `client.<type>`, so a client can never pass for a service's event. */
const ClientEventInput = z.strictObject({
  id: z.uuid().transform((id) => id.toLowerCase()).optional()
    .meta({ description: 'Yours, to make a retry safe: with the same occurredAt, an event already stored is a duplicate, not stored again' }),
  type: z.string().max(100).regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/, 'must be dotted lower-case words (page_view, checkout.started)'),
  occurredAt: Timestamp.optional().meta({ description: 'When it happened (ISO 8601 with offset); now by default. Not in the future, not older than the retention' }),
  properties: z.record(
    z.string().min(1).max(64),
    z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]),
  ).refine((properties) => Object.keys(properties).length <= MAX_PROPERTIES, `must have at most ${MAX_PROPERTIES} keys`).optional(),
}).superRefine((event, context) => {
  // An event is stored under (id, occurredAt): a retry defaulting to a new "now" would not be the same event.
  if (event.id !== undefined && event.occurredAt === undefined) context.addIssue({ code: 'custom', path: ['occurredAt'], message: 'is required with an id' });
});

export const ClientEventsBody = z.strictObject({
  events: z.array(ClientEventInput).min(1).max(MAX_BATCH),
}, { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) });

export const SeriesQuery = z.object({
  type: z.string().max(200).regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'must be an event type (user.logged_in, client.page_view)'),
  from: Timestamp.meta({ description: 'Start (ISO 8601), aligned down to the interval' }),
  to: Timestamp.meta({ description: 'End, exclusive (ISO 8601), aligned up to the interval' }),
  interval: z.enum(['minute', 'hour', 'day']).default('day'),
});

export const SummaryQuery = z.object({
  from: z.iso.date().meta({ description: 'First UTC day (YYYY-MM-DD)' }),
  to: z.iso.date().meta({ description: 'Last UTC day, inclusive' }),
});

export const ACTIVITY_PAGE_SIZES = { defaultSize: 50, maxSize: 200 };

export const ActivityQuery = pageQuery(ACTIVITY_PAGE_SIZES);
