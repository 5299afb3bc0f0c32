/**
 * Operational errors: expected failures with a stable dotted code and a status. The message is safe to
 * show to the caller; `cause` reaches the log only. Anything that is not an AppError is a bug (500).
 */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 500,
    readonly details?: unknown,
    options?: ErrorOptions & { headers?: Record<string, string> },
  ) {
    super(message, options);
    this.name = 'AppError';
    this.headers = options?.headers;
  }

  /** Response headers that belong with this error (Retry-After on 429/503). */
  readonly headers: Record<string, string> | undefined;
}

export interface FieldProblem {
  field: string;
  problem: string;
}

export const badRequest = (code: string, message: string, details?: unknown) => new AppError(code, message, 400, details);
export const validationFailed = (problems: FieldProblem[]) =>
  new AppError('REQUEST.VALIDATION_FAILED', `Invalid request: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`, 400, { problems });
export const unauthorized = (code = 'AUTH.UNAUTHORIZED', message = 'Authentication required') => new AppError(code, message, 401);
export const forbidden = (code = 'AUTH.FORBIDDEN', message = 'Not allowed') => new AppError(code, message, 403);
export const notFound = (code: string, message: string) => new AppError(code, message, 404);
export const conflict = (code: string, message: string) => new AppError(code, message, 409);
export const tooManyRequests = (code: string, retryAfterSeconds: number, message = 'Too many requests') =>
  new AppError(code, message, 429, undefined, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });
export const serviceUnavailable = (code: string, message: string, retryAfterSeconds = 1) =>
  new AppError(code, message, 503, undefined, { headers: { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) } });

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
