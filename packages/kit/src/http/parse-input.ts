import type { z } from 'zod';
import { validationFailed, type FieldProblem } from '../errors.js';

export interface ParseInputOptions {
  /** What to call a key the schema does not allow (strict objects); "is not allowed" by default. */
  unknownKey?: (key: string) => string;
}

/**
 * Parses a request body, query or parameter with a zod schema, or throws 400 REQUEST.VALIDATION_FAILED
 * naming every bad field: `{ details: { problems: [{ field, problem }] } }`.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, options: ParseInputOptions = {}): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(result.error.issues.flatMap((issue) => fieldProblems(issue, options)));
}

/** One line naming every bad field, for logs and dead-letter reasons. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.flatMap((issue) => fieldProblems(issue, {})).map((p) => `${p.field} ${p.problem}`).join('; ');
}

function fieldProblems(issue: z.core.$ZodIssue, { unknownKey = () => 'is not allowed' }: ParseInputOptions): FieldProblem[] {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ field: at ? `${at}.${key}` : key, problem: unknownKey(key) }));
  }
  return [{ field: at || 'body', problem: issue.message }];
}
