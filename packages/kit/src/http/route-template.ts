import type { Request, Response } from 'express';

const UNMATCHED_ROUTE = '<unmatched>';

/**
 * The route template that served a request (`/users/:id`), never the raw path: raw paths would make one
 * metric series per id and scatter one route's log lines. A proxy with no Express route names its
 * template in `res.locals.metricsRoute` (the hub: `/api/users/*`).
 */
export function routeTemplate(req: Request, res: Response): string {
  if (req.route?.path !== undefined) return `${req.baseUrl}${String(req.route.path)}`;
  return (res.locals.metricsRoute as string | undefined) ?? UNMATCHED_ROUTE;
}
