import { z } from 'zod';

/** An item as the API shows it; only its owner ever sees it. */
export const ItemBody = z.object({
  id: z.uuid(),
  ownerId: z.string(),
  title: z.string(),
  createdAt: z.iso.datetime({ offset: true }),
}).meta({ id: 'Item' });

export const ItemPageBody = z.object({
  items: z.array(ItemBody),
  nextCursor: z.string().nullable().meta({ description: 'Pass back as `cursor` for the next page; null on the last one' }),
}).meta({ id: 'ItemPage' });
