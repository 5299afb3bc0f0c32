import { defineRoute, requireAuth, validationFailed, type ApiRoute } from '@hubspoke/kit';
import { ADDRESS_SCHEMAS } from '../domain/channel.js';
import type { ContactService } from '../domain/contact-service.js';
import { contactNotFound, invalidId, tooManyContacts } from '../domain/notification-errors.js';
import { ContactBody, IdParams } from './notification-input.js';
import { ContactListBody, ContactSchema } from './notification-schemas.js';

const tags = ['contacts'];
const headers = { 'Cache-Control': 'private, no-store' };

/** `/contacts`: the caller's own phone numbers and push tokens, and their account email (read-only). */
export function contactRoutes({ contacts }: { contacts: ContactService }): ApiRoute[] {
  return [
    defineRoute({
      method: 'post', path: '/contacts', tags, summary: 'Register a phone number or push token',
      description: 'Registering one you already have answers it again.',
      request: { body: ContactBody },
      response: { status: 201, description: 'The contact', body: ContactSchema, headers },
      errors: [tooManyContacts],
      handler: ({ body }, req) => {
        const checked = ADDRESS_SCHEMAS[body.channel].safeParse(body.address);
        if (!checked.success) throw validationFailed([{ field: 'address', problem: checked.error.issues[0]?.message ?? 'is not valid' }]);
        return contacts.register(requireAuth(req).userId, { channel: body.channel, address: checked.data });
      },
    }),
    defineRoute({
      method: 'get', path: '/contacts', tags, summary: 'Your contacts',
      response: { description: 'Newest first', body: ContactListBody, headers },
      handler: async (_input, req) => ({ contacts: await contacts.list(requireAuth(req).userId) }),
    }),
    defineRoute({
      method: 'delete', path: '/contacts/:id', tags, summary: 'Remove a phone number or push token',
      description: 'The account email follows the account and cannot be removed here (404).',
      request: { params: IdParams, invalidParams: invalidId },
      response: { status: 204, description: 'Removed' },
      errors: [contactNotFound],
      handler: ({ params }, req) => contacts.remove(requireAuth(req).userId, params.id),
    }),
  ];
}
