import type { z } from 'zod';
import { validationFailed, type FieldProblem } from '../errors.js';

export interface ParseInputOptions {
  /** What to call a key the schema does not allow (strict objects); "is not allowed" by default. */
  unknownKey?: (key: string) => string;
}

// Field names come from the client wherever a schema has unknown or record keys: they are echoed only in a
// bounded, sanitised form, and only so many of them, so a 400 never reflects markup, control characters or megabytes.
const MAX_PROBLEMS = 20;
const MAX_SEGMENT_LENGTH = 40;
const SAFE_SEGMENT = /[^A-Za-z0-9_$-]/g;

/**
 * Parses a request body, query or parameter with a zod schema, or throws 400 REQUEST.VALIDATION_FAILED
 * naming the bad fields: `{ details: { problems: [{ field, problem }] } }`, at most 20 of them, the last
 * saying how many more there were.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, options: ParseInputOptions = {}): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(boundedProblems(result.error, options));
}

/** One line naming the bad fields, for logs and dead-letter reasons. */
export function describeIssues(error: z.ZodError): string {
  return boundedProblems(error, {}).map((p) => `${p.field} ${p.problem}`).join('; ');
}

function boundedProblems(error: z.ZodError, options: ParseInputOptions): FieldProblem[] {
  const problems = error.issues.flatMap((issue) => fieldProblems(issue, options));
  if (problems.length <= MAX_PROBLEMS) return problems;
  const more = problems.length - (MAX_PROBLEMS - 1);
  return [...problems.slice(0, MAX_PROBLEMS - 1), { field: 'body', problem: `has ${more} more problems` }];
}

function fieldProblems(issue: z.core.$ZodIssue, { unknownKey = () => 'is not allowed' }: ParseInputOptions): FieldProblem[] {
  const at = issue.path.map(safeSegment).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ field: at ? `${at}.${safeSegment(key)}` : safeSegment(key), problem: unknownKey(key) }));
  }
  return [{ field: at || 'body', problem: issue.message }];
}

/** A path segment as the client may see it: other characters become `?`, long ones are cut with `…`. */
function safeSegment(segment: PropertyKey): string {
  const text = String(segment);
  const shown = text.slice(0, MAX_SEGMENT_LENGTH).replace(SAFE_SEGMENT, '?');
  return (shown || '?') + (text.length > MAX_SEGMENT_LENGTH ? '…' : '');
}
