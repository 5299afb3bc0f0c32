import { defineRoute, requestedPage, requireAuth, type ApiRoute } from '@hubspoke/kit';
import {
  idempotencyKeyReused, invalidAddress, invalidCursor, invalidId, missingTemplateData, noContact, notificationNotFound, recipientForbidden, unknownTemplate,
} from '../domain/notification-errors.js';
import type { NotificationService } from '../domain/notification-service.js';
import { IdParams, PageQuery, SendBody } from './notification-input.js';
import { AcceptedBody, NotificationBody, NotificationPageBody } from './notification-schemas.js';

const tags = ['notifications'];
// Someone's own data: no shared cache may keep it.
const headers = { 'Cache-Control': 'private, no-store' };

/** The hub strips `/api/notifications`: `/`, `/:id`. Every route needs a token this spoke verifies itself. */
export function notificationRoutes({ notifications }: { notifications: NotificationService }): ApiRoute[] {
  return [
    defineRoute({
      method: 'post', path: '/', tags, summary: 'Send a notification',
      description: 'Renders the template now (an unknown template or a missing value is a 400) and queues the message; '
        + 'a worker sends it, retrying transient provider errors. Publishes notification.sent or notification.failed v1.',
      request: { body: SendBody },
      response: { status: 202, description: 'Queued; follow it with GET /:id', body: AcceptedBody, headers },
      errors: [unknownTemplate, missingTemplateData, invalidAddress, noContact, recipientForbidden, idempotencyKeyReused],
      handler: ({ body }, req) => {
        const { userId, role } = requireAuth(req);
        return notifications.send({ userId, role }, body);
      },
    }),
    defineRoute({
      method: 'get', path: '/', tags, summary: 'Your notifications, a page at a time',
      request: { query: PageQuery },
      response: { description: 'One page, oldest first', body: NotificationPageBody, headers },
      errors: [invalidCursor],
      handler: ({ query }, req) => {
        const { userId, role } = requireAuth(req);
        return notifications.list({ userId, role }, requestedPage(query));
      },
    }),
    defineRoute({
      method: 'get', path: '/:id', tags, summary: 'One notification, with every attempt',
      description: 'Yours, or any for an admin; anyone else gets the same 404 as a missing one.',
      request: { params: IdParams, invalidParams: invalidId },
      response: { description: 'Its status and attempts', body: NotificationBody, headers },
      errors: [notificationNotFound],
      handler: ({ params }, req) => {
        const { userId, role } = requireAuth(req);
        return notifications.get({ userId, role }, params.id);
      },
    }),
  ];
}
