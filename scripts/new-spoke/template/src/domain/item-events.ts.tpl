import { {{Pascal}}ItemCreatedV1 } from '@hubspoke/contracts';
import { createEvent } from '@hubspoke/kit';
import type { Item } from './item.js';

/** The envelope `source` of everything this spoke publishes; the shapes are in @hubspoke/contracts. */
export const {{CONST}}_EVENT_SOURCE = '{{name}}';

export const itemCreatedV1 = (item: Item) =>
  createEvent({{Pascal}}ItemCreatedV1, {{CONST}}_EVENT_SOURCE, { itemId: item.id, ownerId: item.ownerId, title: item.title });
