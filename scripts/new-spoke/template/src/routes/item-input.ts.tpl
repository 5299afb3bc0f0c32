import { pageQuery } from '@hubspoke/kit';
import { z } from 'zod';
import { ITEM_LIMITS } from '../domain/item.js';

/** POST /: a title and nothing else; anything else is named in the 400. */
export const NewItemBody = z.strictObject({
  title: z.string().trim().min(1).max(ITEM_LIMITS.titleLength).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
}, { error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object' : undefined) });

/** GET /: page size defaults to 20 and is capped at 100. */
export const PageQuery = pageQuery();

/** A malformed id is the client's mistake (400 {{CONST}}.INVALID_ID), and never reaches the database. */
export const ItemIdParams = z.object({ id: z.uuid().transform((id) => id.toLowerCase()) });
