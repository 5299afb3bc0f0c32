import { defineRoute, requestedPage, requireAuth, type ApiRoute } from '@hubspoke/kit';
import { invalidCursor, invalidRange, rangeNotRetained, rangeTooLarge } from '../domain/analytics-errors.js';
import type { Ingestion } from '../domain/ingestion.js';
import type { Queries } from '../domain/queries.js';
import { ACTIVITY_PAGE_SIZES, ActivityQuery, ClientEventsBody, MAX_BATCH, SeriesQuery, SummaryQuery } from './analytics-input.js';
import { AcceptedBody, ActivityBody, SeriesBody, SummaryBody } from './analytics-schemas.js';

// Counts and someone's own events: no shared cache may keep them.
const headers = { 'Cache-Control': 'private, no-store' };

/**
 * The hub strips `/api/analytics`. The series are `/metrics`, as issue 16 names them: the service's own
 * Prometheus endpoint is `/internal/metrics` (the kit's), which the hub never routes. Reports are for admins;
 * a user reads only their own events.
 */
export function analyticsRoutes({ ingestion, queries }: { ingestion: Ingestion; queries: Queries }): ApiRoute[] {
  return [
    defineRoute({
      method: 'post', path: '/events', tags: ['events'], summary: 'Record your client events',
      description: `At most ${MAX_BATCH} events and 64 kB per request. All or nothing: one invalid event rejects the batch ` +
        '(400 naming `events.<index>.<field>` for each), so a client drops or fixes those and sends the rest again.',
      request: { body: ClientEventsBody },
      response: { status: 202, description: 'Stored (and counted), attributed to the caller', body: AcceptedBody, headers },
      handler: ({ body }, req) => ingestion.recordFromClient(requireAuth(req).userId, body.events),
    }),
    defineRoute({
      method: 'get', path: '/metrics', tags: ['reports'], role: 'admin', summary: 'Counts of one event type per minute, hour or day',
      description: 'Zero-filled buckets (UTC). At most 1440 minutes, 744 hours or 366 days; minute and hour counts are kept as long as the events.',
      request: { query: SeriesQuery },
      response: { description: 'Every bucket of the range', body: SeriesBody, headers },
      errors: [invalidRange, rangeTooLarge, rangeNotRetained],
      handler: ({ query }) => queries.metrics(query),
    }),
    defineRoute({
      method: 'get', path: '/reports/summary', tags: ['reports'], role: 'admin', summary: 'Per day: signups, logins, active users, notifications, jobs',
      description: 'UTC days from `from` to `to` inclusive, at most 366.',
      request: { query: SummaryQuery },
      response: { description: 'One entry per day, zero-filled', body: SummaryBody, headers },
      errors: [invalidRange, rangeTooLarge],
      handler: ({ query }) => queries.summary(query),
    }),
    defineRoute({
      method: 'get', path: '/users/me/activity', tags: ['events'], summary: 'Your own events, newest first',
      request: { query: ActivityQuery },
      response: { description: 'One page', body: ActivityBody, headers },
      errors: [invalidCursor],
      handler: ({ query }, req) => queries.activity(requireAuth(req).userId, requestedPage(query, ACTIVITY_PAGE_SIZES)),
    }),
  ];
}
