import { z } from 'zod';
import { MAX_TASK_TYPE_LENGTH, TASK_TYPE_PATTERN } from './protocol.js';

/** Who may submit a task type: any signed-in user, or admins only. */
export const TASK_SUBMITTERS = ['users', 'admins'] as const;
export type TaskSubmitters = (typeof TASK_SUBMITTERS)[number];

/** A JSON Schema (draft 2020-12) object, as `z.toJSONSchema` writes it. */
export type JsonSchema = Record<string, unknown>;

/** What a spoke tells the hub about each task type it serves, in its registry record. */
export interface TaskDeclaration {
  type: string;
  allowed: TaskSubmitters;
  /** The input every item must match, checked by the hub when a job is created and again by the worker. */
  inputSchema: JsonSchema;
}

/** Keeps records small: a schema is a contract, not a data set. */
export const MAX_INPUT_SCHEMA_BYTES = 16_384;

export const taskDeclarationSchema = z.object({
  type: z.string().regex(TASK_TYPE_PATTERN).max(MAX_TASK_TYPE_LENGTH),
  allowed: z.enum(TASK_SUBMITTERS),
  inputSchema: z.record(z.string(), z.unknown()).refine(
    (schema) => JSON.stringify(schema).length <= MAX_INPUT_SCHEMA_BYTES, `must be at most ${MAX_INPUT_SCHEMA_BYTES} bytes of JSON`),
}) satisfies z.ZodType<TaskDeclaration>;

const validators = new Map<string, z.ZodType>();

/**
 * A validator for a declared input schema, built once per distinct schema: the hub checks items with the
 * schema the spoke declared, so bad input is a 400 at creation rather than a failed item later.
 */
export function taskInputValidator(declaration: Pick<TaskDeclaration, 'inputSchema'>): z.ZodType {
  const key = JSON.stringify(declaration.inputSchema);
  let validator = validators.get(key);
  if (!validator) {
    validator = z.fromJSONSchema(declaration.inputSchema as Parameters<typeof z.fromJSONSchema>[0]);
    // Records come and go with spoke versions; the cache only needs the schemas live right now.
    if (validators.size >= 256) validators.clear();
    validators.set(key, validator);
  }
  return validator;
}
