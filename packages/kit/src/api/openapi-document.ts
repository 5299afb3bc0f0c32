import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { errorResponseSchema, errorsOf, type DocumentedError } from './error-responses.js';
import type { ApiRoute } from './route-definition.js';

/** An OpenAPI 3.1 document, as JSON. */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

export interface ApiInfo {
  title: string;
  version: string;
  description?: string;
}

export const BEARER_SCHEME = 'bearerAuth';

/** `/:id` → `/{id}`. */
export const openApiPath = (expressPath: string) => expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * The document of one service's routes, paths as the service sees them (the hub adds `/api/<prefix>`).
 * Routes that are not public need a bearer token; each lists its error codes by status.
 */
export function buildOpenApiDocument(info: ApiInfo, routes: readonly ApiRoute[]): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', BEARER_SCHEME, { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  for (const route of routes) {
    const { request = {}, response } = route;
    const status = response.status ?? 200;
    registry.registerPath({
      method: route.method,
      path: openApiPath(route.path),
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.tags ? { tags: route.tags } : {}),
      security: route.public && !route.role ? [] : [{ [BEARER_SCHEME]: [] }],
      request: {
        ...(request.params ? { params: request.params } : {}),
        ...(request.query ? { query: request.query } : {}),
        ...(request.body ? { body: { required: true, content: { 'application/json': { schema: request.body } } } } : {}),
      },
      responses: {
        [status]: {
          description: response.description,
          ...(response.headers ? { headers: headersOf(response.headers) } : {}),
          ...(response.body ? { content: { [response.contentType ?? 'application/json']: { schema: response.body } } } : {}),
        },
        ...errorResponses(errorsOf(route)),
      },
    });
  }
  const { title, version, description } = info;
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({ openapi: '3.1.0', info: { title, version, ...(description ? { description } : {}) } });
}

function errorResponses(errors: DocumentedError[]) {
  const byStatus = Map.groupBy(errors, (e) => e.status);
  return Object.fromEntries([...byStatus].map(([status, group]) => [status, {
    description: group.map((e) => `\`${e.code}\`: ${e.message}`).join('; '),
    content: { 'application/json': { schema: errorResponseSchema(group) } },
  }]));
}

function headersOf(headers: Record<string, string>) {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { schema: { type: 'string' as const, const: value } }]));
}

/** `post /register` → `postRegister`, `get /:id` → `getById`, `get /` → `getRoot`. */
function operationId({ method, path }: ApiRoute): string {
  const words = path.split('/').filter(Boolean).flatMap((segment) => (segment.startsWith(':') ? ['by', segment.slice(1)] : segment.split(/[^A-Za-z0-9]+/)));
  const name = (words.length > 0 ? words : ['root']).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return `${method}${name}`;
}
