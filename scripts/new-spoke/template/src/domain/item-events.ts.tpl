import { createEnvelope, type Envelope } from '@hubspoke/kit';
import type { Item } from './item.js';

/** The envelope `source` of everything this spoke publishes. */
export const {{CONST}}_EVENT_SOURCE = '{{name}}';

export type ItemCreatedV1 = Envelope<'{{snake}}.item_created', { itemId: string; ownerId: string; title: string }>;

export const itemCreatedV1 = (item: Item): ItemCreatedV1 =>
  createEnvelope({ source: {{CONST}}_EVENT_SOURCE, type: '{{snake}}.item_created', version: 1, payload: { itemId: item.id, ownerId: item.ownerId, title: item.title } });
