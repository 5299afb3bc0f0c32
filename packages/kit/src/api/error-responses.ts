import { z } from 'zod';
import { signingKeysUnavailable, tokenExpired, tokenInvalid, tokenMissing } from '../auth/auth-errors.js';
import { databaseUnavailable } from '../db/unavailable.js';
import { AppError, forbidden } from '../errors.js';
import type { ApiRoute } from './route-definition.js';

export interface DocumentedError {
  status: number;
  code: string;
  message: string;
}

/** Every error body the kit's error handler writes (http/errors.ts). */
export const ErrorDetail = z.object({
  code: z.string().meta({ description: 'Stable dotted code, e.g. `AUTH.INVALID_CREDENTIALS`' }),
  message: z.string().meta({ description: 'Safe to show; may change wording' }),
  requestId: z.string().optional().meta({ description: 'The X-Request-Id of the request, to quote in a report' }),
  details: z.unknown().optional().meta({ description: 'More about the error: `{ problems: [{ field, problem }] }` for validation' }),
});

const bodyErrors = () => [
  new AppError('REQUEST.MALFORMED_JSON', 'The request body is not valid JSON', 400),
  new AppError('REQUEST.TOO_LARGE', 'The request body is larger than allowed', 413),
];
const tokenErrors = () => [tokenMissing(), tokenInvalid(), tokenExpired(), signingKeysUnavailable()];
const invalidRequest = () => new AppError('REQUEST.VALIDATION_FAILED', 'The request does not match its schema; details.problems names each field', 400);
const internal = () => new AppError('INTERNAL', 'Internal error', 500);

/** The errors a route can answer: its own, plus those the kit raises around it. */
export function errorsOf(route: ApiRoute): DocumentedError[] {
  const { request = {} } = route;
  const errors = [
    ...(request.body || request.query || request.params ? [invalidRequest()] : []),
    ...(request.invalidParams ? [request.invalidParams()] : []),
    ...(request.body ? bodyErrors() : []),
    ...(route.public && !route.role ? [] : tokenErrors()),
    ...(route.role ? [forbidden()] : []),
    ...(route.errors ?? []).map((make) => make()),
    // Any route may find its database restarting: the error handler answers 503 with Retry-After.
    databaseUnavailable(),
    internal(),
  ];
  const unique = new Map(errors.map((e) => [e.code, { status: e.status, code: e.code, message: e.message }]));
  return [...unique.values()];
}

/** One response per status: the error body, its `code` limited to the codes that status carries. */
export function errorResponseSchema(errors: DocumentedError[]) {
  const codes = errors.map((e) => e.code) as [string, ...string[]];
  return z.object({ error: ErrorDetail.extend({ code: z.enum(codes) }) });
}
