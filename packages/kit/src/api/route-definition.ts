import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Role } from '../auth/token-contract.js';
import type { AppError } from '../errors.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Schema = z.ZodType | undefined;
type ObjectSchema = z.ZodObject | undefined;
type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

/** What a route answers when it succeeds; errors go through the kit's error handler. */
export interface RouteResponse<R extends Schema> {
  status?: 200 | 201 | 202 | 204;
  description: string;
  /** The body's schema; none for 204. Checked against each response when the API validates responses. */
  body?: R;
  /** `application/json` unless said otherwise (the hub's reference page is `text/html`). */
  contentType?: string;
  /** Set on every answer of the route, errors included (caching rules), and documented. */
  headers?: Record<string, string>;
}

/**
 * One HTTP route and its contract. The request schemas are what the route parses with (400
 * REQUEST.VALIDATION_FAILED naming each bad field), and the same schemas, the response and the
 * errors make its entry in the service's OpenAPI document.
 */
export interface RouteDefinition<B extends Schema, Q extends ObjectSchema, P extends ObjectSchema, R extends Schema> {
  method: HttpMethod;
  /** Express syntax, after the hub's `/api/<prefix>`: `/me`, `/:id`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  /** Answered without a token. Otherwise the kit verifies the bearer token first (the API needs a verifier). */
  public?: boolean;
  /** Only callers with this role (403 AUTH.FORBIDDEN); implies a token. */
  role?: Role;
  request?: {
    body?: B;
    query?: Q;
    params?: P;
    /** What to call a body key a strict schema does not allow. */
    unknownKey?: (key: string) => string;
    /** Answered instead of REQUEST.VALIDATION_FAILED when a path parameter is malformed (e.g. USER.INVALID_ID). */
    invalidParams?: () => AppError;
  };
  response: RouteResponse<R>;
  /**
   * The operational errors the route's own flows throw, as their factories (called once, to read the
   * status, code and message). Validation, token, role and internal errors are added by the kit.
   */
  errors?: (() => AppError)[];
  handler: (
    input: { body: Parsed<B>; query: Parsed<Q>; params: Parsed<P> },
    req: Request,
    res: Response,
  ) => Promise<ResponseBody<R>> | ResponseBody<R>;
}

type ResponseBody<R> = R extends z.ZodType ? z.input<R> : void;

/** A route with its types erased, as the API holds it. */
export type ApiRoute = RouteDefinition<Schema, ObjectSchema, ObjectSchema, Schema>;

/** Types the handler from the schemas; the result goes into `apiRoutes({ routes })`. */
export function defineRoute<B extends Schema = undefined, Q extends ObjectSchema = undefined, P extends ObjectSchema = undefined, R extends Schema = undefined>(
  route: RouteDefinition<B, Q, P, R>,
): ApiRoute {
  return route as unknown as ApiRoute;
}
