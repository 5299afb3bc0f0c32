/** A response of an OpenAPI operation, as far as the contract tests read it: the error codes it lists. */
export interface DocumentedResponse {
  content?: Record<string, { schema: { properties: { error: { properties: { code: { enum: string[] } } } } } }>;
}

export interface DocumentedOperation {
  security?: unknown[];
  responses: Record<string, DocumentedResponse>;
}

/**
 * Every operation of an OpenAPI document, named like `mountedRoutes` names a route (`GET /:id`), so a
 * test compares what a service documents with what it serves.
 */
export function documentedOperations(document: { paths: Record<string, Record<string, DocumentedOperation>> }) {
  return Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({
    route: `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`, operation,
  })));
}

/** The error codes a documented response lists (its JSON error body's `code` enum). */
export const documentedErrorCodes = (response: DocumentedResponse | undefined): string[] | undefined =>
  response?.content?.['application/json']?.schema.properties.error.properties.code.enum;
