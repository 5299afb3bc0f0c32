import { z } from 'zod';
import { taskDeclarationSchema } from '../tasks/declaration.js';
import type { InstanceRecord } from './types.js';

const NAME = /^[a-z0-9][a-z0-9-]{0,40}$/;
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const METHOD = /^[A-Z]{1,16}$/;
// RFC 3986 path characters only: no whitespace, control characters, query or fragment.
const ROUTE_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]{0,200}$/;
const TASK_TYPE = /^[a-z0-9][a-z0-9._-]{0,100}$/;
const MAX_ROUTES = 200;
const MAX_TASKS = 20;

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && !url.username && !url.password;
}

const routeFields = { method: z.string().regex(METHOD), path: z.string().regex(ROUTE_PATH) };

/**
 * What a reader accepts as a record. Unknown fields are stripped rather than refused, so a hub keeps
 * routing to spokes one version ahead of it during a rolling upgrade (the signature still covers them).
 */
export const instanceRecordSchema = z.object({
  service: z.string().regex(NAME),
  instanceId: z.string().regex(INSTANCE_ID),
  url: z.string().max(2048).refine(isHttpUrl, 'must be an http(s) URL without credentials'),
  routePrefix: z.string().regex(NAME),
  version: z.string().min(1).max(64),
  publicRoutes: z.array(z.object(routeFields)).max(MAX_ROUTES),
  routeLimits: z
    .array(
      z.object({
        ...routeFields,
        limit: z.int().min(1).max(1_000_000),
        windowMs: z.int().min(1).max(86_400_000),
        onStoreDown: z.enum(['open', 'closed']).optional(),
      }),
    )
    .max(MAX_ROUTES),
  taskTypes: z.array(z.string().regex(TASK_TYPE)).max(MAX_ROUTES),
  // Absent from records written before tasks were declared.
  tasks: z.array(taskDeclarationSchema).max(MAX_TASKS).default([]),
  status: z.enum(['ready', 'draining']),
  heartbeatAt: z.int().min(0),
  ttlMs: z.int().min(100).max(600_000),
}) satisfies z.ZodType<InstanceRecord>;

/** Validates a record this process is about to publish; throws one readable error naming every problem. */
export function parseOwnRecord(record: InstanceRecord): InstanceRecord {
  const result = instanceRecordSchema.safeParse(record);
  if (!result.success) throw new Error(`registry: invalid instance record: ${z.prettifyError(result.error)}`);
  return result.data;
}
