import { AppError, badRequest, conflict, forbidden, notFound, tooManyRequests } from '@hubspoke/kit';

/** Every error the jobs API raises, made here only. */
export const jobNotFound = () => notFound('JOB.NOT_FOUND', 'No such job');
export const invalidJobId = () => badRequest('JOB.INVALID_ID', 'A job id is a UUID');
export const invalidCursor = () => badRequest('JOB.INVALID_CURSOR', 'The cursor is not one this API returned');
export const unknownTaskType = (type = '<type>') => badRequest('JOB.UNKNOWN_TYPE', `No live spoke serves task type "${type}"`, { type });
export const typeNotAllowed = (type = '<type>') => forbidden('JOB.TYPE_NOT_ALLOWED', `Only admins may submit "${type}" jobs`);
export const duplicateKeys = (keys: string[] = []) => badRequest('JOB.DUPLICATE_KEYS', `Item keys must be unique within a job: ${keys.slice(0, 10).join(', ')}`, { keys: keys.slice(0, 100) });
export const tooManyItems = (max = 0) => new AppError('JOB.TOO_MANY_ITEMS', `A job holds at most ${max} items`, 413, { max });
export const inputTooLarge = (key = '<key>', max = 0) => new AppError('JOB.INPUT_TOO_LARGE', `The input of item "${key}" is larger than ${max} bytes`, 413, { key, max });
export const invalidInput = (problems: { key: string; problem: string }[] = []) =>
  badRequest('JOB.INVALID_INPUT', `Item input does not match the task type's schema: ${problems.slice(0, 5).map((p) => `${p.key}: ${p.problem}`).join('; ')}`, { problems: problems.slice(0, 100) });
export const activeJobsQuota = (max = 0) => tooManyRequests('JOB.QUOTA_ACTIVE_JOBS', 5, `At most ${max} of your jobs may run at once`);
export const openItemsQuota = (max = 0) => tooManyRequests('JOB.QUOTA_OPEN_ITEMS', 5, `At most ${max} of your items may be waiting or running at once`);
export const idempotencyConflict = () => conflict('JOB.IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used with a different request');
export const invalidIdempotencyKey = () => badRequest('JOB.INVALID_IDEMPOTENCY_KEY', 'Idempotency-Key is 1 to 200 printable ASCII characters');
export const jobNotActive = () => conflict('JOB.NOT_ACTIVE', 'The job has finished: nothing left to cancel');
export const nothingToRetry = () => conflict('JOB.NOTHING_TO_RETRY', 'Only a finished job with failed items can retry them');
