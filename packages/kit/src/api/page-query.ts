import { z } from 'zod';

/** How many items a page holds when the client does not say, and at most. */
export interface PageSizes {
  defaultSize: number;
  maxSize: number;
}

export const DEFAULT_PAGE_SIZES: PageSizes = { defaultSize: 20, maxSize: 100 };

/** The query of a paged list route: the previous page's cursor and a page size. */
export function pageQuery({ defaultSize, maxSize }: PageSizes = DEFAULT_PAGE_SIZES) {
  return z.object({
    cursor: z.string().min(1).max(200).optional().meta({ description: 'The `nextCursor` of the previous page' }),
    limit: z.string().regex(/^\d{1,6}$/, 'must be a positive integer').transform(Number).pipe(z.number().int().min(1)).optional()
      .meta({ description: `Page size, ${defaultSize} by default, at most ${maxSize}` }),
  });
}

/** The page a parsed query asks for: its size defaulted and capped. */
export function requestedPage(query: { cursor?: string; limit?: number }, { defaultSize, maxSize }: PageSizes = DEFAULT_PAGE_SIZES) {
  return { cursor: query.cursor, limit: Math.min(query.limit ?? defaultSize, maxSize) };
}
