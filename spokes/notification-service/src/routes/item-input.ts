import { z } from 'zod';
import { ITEM_LIMITS } from '../domain/item.js';

/** POST /: a title and nothing else; anything else is named in the 400. */
export const NewItemBody = z.strictObject({
  title: z.string().trim().min(1).max(ITEM_LIMITS.titleLength).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
}, { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) });

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** GET /: page size defaults to 20 and is capped at 100. */
export const PageQuery = z.object({
  cursor: z.string().min(1).max(200).optional().meta({ description: 'The `nextCursor` of the previous page' }),
  limit: z.string().regex(/^\d{1,6}$/, 'must be a positive integer').transform(Number).pipe(z.number().int().min(1)).optional()
    .meta({ description: `Page size, ${DEFAULT_PAGE_SIZE} by default, at most ${MAX_PAGE_SIZE}` }),
});

/** A malformed id is the client's mistake (400 NOTIFICATION.INVALID_ID), and never reaches the database. */
export const ItemIdParams = z.object({ id: z.uuid().transform((id) => id.toLowerCase()) });
