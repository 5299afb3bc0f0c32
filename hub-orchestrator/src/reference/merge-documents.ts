import { BEARER_SCHEME, type OpenApiDocument, type PublicRoute } from '@hubspoke/kit';
import { routeMatches } from '../routing/route-match.js';

/** One service's document and where clients reach it: `/api/<prefix>`. */
export interface DocumentPart {
  prefix: string;
  document: OpenApiDocument;
  /**
   * What the hub's edge lets through without a token (a spoke's registered public routes): these
   * operations need no token, every other one a bearer token. Absent for the hub's own document, whose
   * routes say it themselves.
   */
  publicRoutes?: PublicRoute[];
}

/** What the hub answers instead of the spoke, on any proxied route. */
const HUB_ERRORS = [
  { status: 429, code: 'RATE_LIMIT.EXCEEDED', message: 'Too many requests, slow down' },
  { status: 502, code: 'HUB.UPSTREAM_UNREACHABLE', message: 'The service could not be reached' },
  { status: 503, code: 'HUB.NO_INSTANCE', message: 'No instance of the service is available' },
  { status: 503, code: 'RATE_LIMIT.UNAVAILABLE', message: 'Rate limiting is unavailable for this route, try again shortly' },
  { status: 504, code: 'HUB.UPSTREAM_TIMEOUT', message: 'The service did not answer in time' },
];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = Record<string, unknown>;

/**
 * One OpenAPI 3.1 document of everything a client can call through the hub: each part's paths under
 * `/api/<prefix>`, its operation ids and component names prefixed so parts never collide, and the
 * hub's own answers (rate limits, unreachable spokes) added to every proxied operation.
 */
export function mergeDocuments(info: { title: string; version: string; description?: string }, parts: DocumentPart[]): OpenApiDocument {
  const paths: Json = {};
  const schemas: Json = {};
  for (const part of parts) {
    const document = renameSchemas(part.document, part.prefix, schemas) as OpenApiDocument;
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      const operations = { ...(item as Json) };
      for (const method of METHODS) {
        const operation = operations[method] as Json | undefined;
        if (operation) operations[method] = adapt(operation, part, method, path);
      }
      paths[`/api/${part.prefix}${path === '/' ? '' : path}`] = operations;
    }
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: { schemas, securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
  } as OpenApiDocument;
}

function adapt(operation: Json, part: DocumentPart, method: string, path: string): Json {
  const adapted: Json = {
    ...operation,
    operationId: `${part.prefix}.${String(operation.operationId ?? `${method}${path}`)}`,
    tags: operation.tags ?? [part.prefix],
  };
  if (!part.publicRoutes) return adapted;
  const isPublic = part.publicRoutes.some((rule) => routeMatches(rule, method.toUpperCase(), path));
  return { ...adapted, security: isPublic ? [] : [{ [BEARER_SCHEME]: [] }], responses: withHubErrors(operation.responses as Json) };
}

/** Adds each hub error to the operation's response for its status, or a response of its own. */
function withHubErrors(responses: Json): Json {
  const result: Json = structuredClone(responses);
  for (const error of HUB_ERRORS) {
    const line = `\`${error.code}\`: ${error.message}`;
    const existing = result[error.status] as { description: string; content?: { 'application/json'?: { schema?: Json } } } | undefined;
    const codes = existing ? codeEnum(existing.content?.['application/json']?.schema) : undefined;
    if (existing && codes) {
      codes.push(error.code);
      existing.description = `${existing.description}; ${line}`;
    } else if (!existing) {
      result[error.status] = { description: line, content: { 'application/json': { schema: errorSchema([error.code]) } } };
    }
  }
  return result;
}

/** The `code` enum of an error body schema the kit generated, to extend in place. */
function codeEnum(schema: Json | undefined): string[] | undefined {
  const error = (schema?.properties as Json | undefined)?.error as Json | undefined;
  const code = (error?.properties as Json | undefined)?.code as { enum?: string[] } | undefined;
  return code?.enum;
}

function errorSchema(codes: string[]): Json {
  return {
    type: 'object',
    properties: {
      error: {
        type: 'object',
        properties: { code: { type: 'string', enum: codes }, message: { type: 'string' }, requestId: { type: 'string' }, details: {} },
        required: ['code', 'message'],
      },
    },
    required: ['error'],
  };
}

/** `#/components/schemas/Profile` of the users part becomes `users.Profile`, everywhere it is referenced. */
function renameSchemas(document: OpenApiDocument, prefix: string, into: Json): unknown {
  const rename = (name: string) => `${prefix}.${name}`;
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string' && inner.startsWith('#/components/schemas/') ? `#/components/schemas/${rename(inner.slice(21))}` : rewrite(inner),
    ]));
  };
  for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) into[rename(name)] = rewrite(schema);
  return rewrite(document);
}
