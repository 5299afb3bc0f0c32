import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/** An item was created (notification spoke). ownerId is its creator's user id, the subject of their token. */
export const NotificationItemCreatedV1 = defineEvent('notification.item_created', 1, z.object({
  itemId: z.uuid(),
  ownerId: z.string().min(1),
  title: z.string().min(1).max(200),
}));

export type NotificationItemCreatedV1Payload = z.output<typeof NotificationItemCreatedV1.payload>;
