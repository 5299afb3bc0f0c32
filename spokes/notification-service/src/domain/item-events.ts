import { NotificationItemCreatedV1 } from '@hubspoke/contracts';
import { createEvent } from '@hubspoke/kit';
import type { Item } from './item.js';

/** The envelope `source` of everything this spoke publishes; the shapes are in @hubspoke/contracts. */
export const NOTIFICATION_EVENT_SOURCE = 'notification';

export const itemCreatedV1 = (item: Item) =>
  createEvent(NotificationItemCreatedV1, NOTIFICATION_EVENT_SOURCE, { itemId: item.id, ownerId: item.ownerId, title: item.title });
