import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { databaseUnavailable, isDatabaseUnavailable } from '../db/unavailable.js';
import { AppError, isAppError } from '../errors.js';

export interface ErrorBody {
  error: { code: string; message: string; requestId?: string; details?: unknown };
}

/** Body-parser and other HTTP-library errors carry a status and a type; they are the client's fault. */
const LIBRARY_ERRORS: Record<string, { code: string; message: string }> = {
  'entity.too.large': { code: 'REQUEST.TOO_LARGE', message: 'The request body is larger than allowed' },
  'entity.parse.failed': { code: 'REQUEST.MALFORMED_JSON', message: 'The request body is not valid JSON' },
  'encoding.unsupported': { code: 'REQUEST.UNSUPPORTED_ENCODING', message: 'The request body encoding is not supported' },
  'charset.unsupported': { code: 'REQUEST.UNSUPPORTED_CHARSET', message: 'The request body charset is not supported' },
  'request.aborted': { code: 'REQUEST.ABORTED', message: 'The request was aborted' },
  'request.size.invalid': { code: 'REQUEST.SIZE_MISMATCH', message: 'The request body length does not match Content-Length' },
};

/**
 * What an error answers: an AppError as it is; a lost or unreachable database (a restart, a failover) 503
 * `DB.UNAVAILABLE` with Retry-After, so clients and the hub know to come back; an HTTP library's 4xx a
 * `REQUEST.*` code; anything else 500 `INTERNAL`.
 */
export function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (isDatabaseUnavailable(error)) return databaseUnavailable(error);
  const candidate = error as { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown };
  const status = Number(candidate?.status ?? candidate?.statusCode);
  if (status >= 400 && status < 500) {
    const known = typeof candidate.type === 'string' ? LIBRARY_ERRORS[candidate.type] : undefined;
    return new AppError(known?.code ?? 'REQUEST.INVALID', known?.message ?? 'The request is invalid', status, undefined, { cause: error });
  }
  return new AppError('INTERNAL', 'Internal error', 500, undefined, { cause: error });
}

export function errorBody(error: AppError, requestId: string | undefined): ErrorBody {
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(requestId ? { requestId } : {}),
      ...(error.details !== undefined ? { details: error.details } : {}),
    },
  };
}

/** The one place errors become responses: operational errors keep their status, anything else is a 500. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    const appError = toAppError(error);
    if (appError.status >= 500) {
      logger.error({ err: isAppError(error) ? (error.cause ?? error) : error, method: req.method, path: req.path }, 'request failed');
    } else {
      logger.debug({ code: appError.code, status: appError.status }, 'request rejected');
    }
    if (res.headersSent) return next(error);
    for (const [name, value] of Object.entries(appError.headers ?? {})) res.setHeader(name, value);
    res.status(appError.status).json(errorBody(appError, req.requestId));
  };
}

/** Unknown routes: 404 in the same shape. */
export function notFoundHandler(): RequestHandler {
  return (_req, _res, next) => {
    next(new AppError('ROUTE.NOT_FOUND', 'No such route', 404));
  };
}
