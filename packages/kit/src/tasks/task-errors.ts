/**
 * Thrown by a task handler: "not now" (a downstream limit, a quota). The dispatcher pauses the job's
 * dispatch for `retryAfterMs` and tries the item again, counting a retry, not a failure.
 */
export class TaskThrottledError extends Error {
  override readonly name = 'TaskThrottledError';
  constructor(readonly retryAfterMs: number, message = `throttled: retry after ${retryAfterMs} ms`) {
    super(message);
  }
}

/** Thrown by a task handler when retrying cannot help (bad input, not allowed for this creator): the item fails at once. */
export class TaskRejectedError extends Error {
  override readonly name = 'TaskRejectedError';
}

export const throttleTask = (retryAfterMs: number, message?: string) => new TaskThrottledError(Math.max(0, Math.round(retryAfterMs)), message);
export const rejectTask = (message: string) => new TaskRejectedError(message);
