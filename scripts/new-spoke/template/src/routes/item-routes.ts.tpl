import { defineRoute, requestedPage, requireAuth, type ApiRoute } from '@hubspoke/kit';
import { invalidCursor, invalidItemId, itemNotFound } from '../domain/item-errors.js';
import type { ItemService } from '../domain/item-service.js';
import { ItemIdParams, NewItemBody, PageQuery } from './item-input.js';
import { ItemBody, ItemPageBody } from './item-schemas.js';

const tags = ['items'];
// Someone's own data: no shared cache may keep it.
const headers = { 'Cache-Control': 'private, no-store' };

/**
 * The hub strips `/api/{{prefix}}`: `/`, `/:id`. Every route needs a token this spoke verifies itself; a
 * route marked `public: true` must also be in `registration.publicRoutes` (src/service.ts) for the hub
 * to let it through without one.
 */
export function itemRoutes({ items }: { items: ItemService }): ApiRoute[] {
  return [
    defineRoute({
      method: 'post', path: '/', tags, summary: 'Create an item',
      description: 'Publishes {{snake}}.item_created v1.',
      request: { body: NewItemBody },
      response: { status: 201, description: 'The item created', body: ItemBody, headers },
      handler: ({ body }, req) => items.create(requireAuth(req).userId, body),
    }),
    defineRoute({
      method: 'get', path: '/', tags, summary: 'Your items, a page at a time',
      request: { query: PageQuery },
      response: { description: 'One page, oldest first', body: ItemPageBody, headers },
      errors: [invalidCursor],
      handler: ({ query }, req) => items.list(requireAuth(req).userId, requestedPage(query)),
    }),
    defineRoute({
      method: 'get', path: '/:id', tags, summary: 'One of your items',
      request: { params: ItemIdParams, invalidParams: invalidItemId },
      response: { description: 'The item', body: ItemBody, headers },
      errors: [itemNotFound],
      handler: ({ params }, req) => items.get(requireAuth(req).userId, params.id),
    }),
  ];
}
