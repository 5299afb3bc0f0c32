import { parseInput } from '@hubspoke/kit';
import { z } from 'zod';
import { invalidItemId } from '../domain/item-errors.js';
import { ITEM_LIMITS } from '../domain/item.js';

const NewItem = z.strictObject({
  title: z.string().trim().min(1).max(ITEM_LIMITS.titleLength).regex(/^[^\p{Cc}]*$/u, 'must not contain control characters'),
});

const PageQuery = z.object({
  cursor: z.string().min(1).max(200).optional(),
  limit: z.string().regex(/^\d{1,6}$/, 'must be a positive integer').transform(Number).pipe(z.number().int().min(1)).optional(),
});

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** POST /: a title and nothing else; anything else is named in the 400. */
export function parseNewItem(body: unknown): { title: string } {
  return parseInput(NewItem, body);
}

/** GET /: page size defaults to 20 and is capped at 100. */
export function parsePageQuery(query: unknown): { cursor?: string; limit: number } {
  const parsed = parseInput(PageQuery, query);
  return { cursor: parsed.cursor, limit: Math.min(parsed.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE) };
}

const UUID = z.uuid();

/** A malformed id is the client's mistake (400), and never reaches the database. */
export function parseItemId(value: unknown): string {
  const parsed = UUID.safeParse(value);
  if (!parsed.success) throw invalidItemId();
  return parsed.data.toLowerCase();
}
