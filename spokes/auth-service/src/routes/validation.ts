import { validationFailed } from '@hubspoke/kit';
import type { z } from 'zod';

/** Parses a request body, or throws 400 REQUEST.VALIDATION_FAILED naming every bad field. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw validationFailed(result.error.issues.map((issue) => ({
    field: issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.') || 'body',
    problem: issue.code === 'unrecognized_keys' ? 'is not allowed' : issue.message,
  })));
}
