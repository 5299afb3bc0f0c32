import express, { type Request, type RequestHandler, type Router } from 'express';
import { authenticate, requireRole } from '../auth/authenticate.js';
import type { TokenVerifier } from '../auth/token-verifier.js';
import { describeIssues, parseInput } from '../http/parse-input.js';
import { buildOpenApiDocument, type ApiInfo, type OpenApiDocument } from './openapi-document.js';
import type { ApiRoute } from './route-definition.js';

export interface ApiOptions extends ApiInfo {
  routes: readonly ApiRoute[];
  /** Verifies the token of every route that is not public; required when there is one. */
  verifier?: TokenVerifier;
  /**
   * Check every response body against its schema before sending it; a mismatch is a logged 500. Tests
   * and staging turn it on (VALIDATE_RESPONSES=true); in production it is off and costs nothing per request.
   */
  validateResponses?: boolean;
}

export interface Api {
  routes: readonly ApiRoute[];
  /** Every route, each parsing its input with its schemas. */
  router: Router;
  /** The OpenAPI 3.1 document of those routes, built once at start-up. */
  document: OpenApiDocument;
}

/** Mounts routes from their contracts and documents them from the same schemas. */
export function apiRoutes({ routes, verifier, validateResponses = false, ...info }: ApiOptions): Api {
  const router = express.Router();
  const verify = verifier ? authenticate(verifier) : undefined;
  // A token already verified in this process (the hub's edge auth) is not verified twice.
  const authenticated: RequestHandler | undefined = verify && ((req, res, next) => (req.auth ? next() : verify(req, res, next)));
  for (const route of routes) {
    const guards: RequestHandler[] = [];
    if (!route.public || route.role) {
      if (!authenticated) throw new Error(`${route.method.toUpperCase()} ${route.path} needs a token: the API needs a verifier`);
      guards.push(authenticated);
    }
    if (route.role) guards.push(requireRole(route.role));
    router[route.method](route.path, ...guards, handle(route, validateResponses));
  }
  return { routes, router, document: buildOpenApiDocument(info, routes) };
}

function handle(route: ApiRoute, validateResponses: boolean): RequestHandler {
  const { request = {}, response } = route;
  const status = response.status ?? 200;
  // Decided once per route: with validation off the request path is the plain one.
  const check = validateResponses && response.body ? checker(route) : undefined;
  return async (req, res) => {
    for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
    const input: Parameters<ApiRoute['handler']>[0] = {
      params: request.params ? parseParams(route, req) as Record<string, unknown> : undefined,
      query: request.query ? parseInput(request.query, req.query) : undefined,
      body: request.body ? parseInput(request.body, req.body, { unknownKey: request.unknownKey }) : undefined,
    };
    const body: unknown = await route.handler(input, req, res);
    // A route that streams (server-sent events) has written its own response.
    if (res.headersSent) return;
    check?.(body);
    res.status(status);
    if (!response.body) res.end();
    else if (response.contentType && response.contentType !== 'application/json') res.type(response.contentType).send(body);
    else res.json(body);
  };
}

function parseParams(route: ApiRoute, req: Request): unknown {
  const { params, invalidParams } = route.request!;
  if (!invalidParams) return parseInput(params!, req.params);
  const result = params!.safeParse(req.params);
  if (!result.success) throw invalidParams();
  return result.data;
}

function checker({ method, path, response }: ApiRoute): (body: unknown) => void {
  return (body) => {
    const result = response.body!.safeParse(body);
    if (!result.success) throw new Error(`the response of ${method.toUpperCase()} ${path} does not match its schema: ${describeIssues(result.error)}`);
  };
}
