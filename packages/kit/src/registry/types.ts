import type { TaskDeclaration } from '../tasks/declaration.js';

/** A route a spoke serves without a token, e.g. `{ method: 'POST', path: '/login' }` (path after the prefix). */
export interface PublicRoute {
  method: string;
  /** Exact path, or a prefix ending in `/*`. */
  path: string;
}

/** A stricter rate limit a spoke asks the hub to apply on one of its routes (login, register). */
export interface RouteLimit {
  method: string;
  path: string;
  /** Requests allowed per window, per client IP. */
  limit: number;
  windowMs: number;
  /** With Redis down: 'open' falls back to an in-memory limit, 'closed' refuses (503). */
  onStoreDown?: 'open' | 'closed';
}

export type InstanceStatus = 'ready' | 'draining';

/** What one spoke instance publishes about itself in the registry (docs/ARCHITECTURE.md, "Registry protocol"). */
export interface InstanceRecord {
  service: string;
  instanceId: string;
  /** Base URL the hub proxies to: this instance's own address on the hub network. */
  url: string;
  /** `/api/<routePrefix>/*` routes here. Lower-case letters, digits and dashes. */
  routePrefix: string;
  version: string;
  publicRoutes: PublicRoute[];
  routeLimits: RouteLimit[];
  /** The task types this instance serves (the `type` of each of `tasks`), for a quick look. */
  taskTypes: string[];
  /** Each task type it serves, with who may submit it and its input schema (`serveTasks`). */
  tasks: TaskDeclaration[];
  status: InstanceStatus;
  /** ms since epoch, refreshed by every heartbeat. */
  heartbeatAt: number;
  /** ms: the record expires unless refreshed within this. */
  ttlMs: number;
}
