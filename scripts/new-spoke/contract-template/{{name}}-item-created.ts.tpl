import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/** An item was created ({{name}} spoke). ownerId is its creator's user id, the subject of their token. */
export const {{Pascal}}ItemCreatedV1 = defineEvent('{{snake}}.item_created', 1, z.object({
  itemId: z.uuid(),
  ownerId: z.string().min(1),
  title: z.string().min(1).max(200),
}), { producer: '{{name}}', userFields: ['ownerId'] });

export type {{Pascal}}ItemCreatedV1Payload = z.output<typeof {{Pascal}}ItemCreatedV1.payload>;
