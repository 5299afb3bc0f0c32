import type { Logger } from 'pino';
import { registerInstance, type Registration } from '../registry/client.js';
import type { PublicRoute, RouteLimit } from '../registry/types.js';
import type { TaskDeclaration } from '../tasks/declaration.js';
import type { RegistrationEnv } from './service-env.js';

/** What a spoke tells the hub about itself, besides its address. */
export interface RegistrationSpec {
  /** The hub routes `/api/<routePrefix>/*` here. */
  routePrefix: string;
  publicRoutes?: PublicRoute[];
  routeLimits?: RouteLimit[];
  /** Filled by startService from the definition's `tasks`. */
  tasks?: TaskDeclaration[];
}

export interface RegisterServiceOptions extends RegistrationSpec {
  env: RegistrationEnv;
  /** This instance's address on the hub network (`deriveInstanceUrl`, from the port it listens on). */
  url: string;
  logger: Logger;
  service: string;
  version: string;
  instanceId: string;
}

/**
 * Registers a service that is ready to serve: the hub routes to the record at once, so startService calls this
 * only once the database, the consumers and the app are up. Shutdown turns it `draining`, then deletes it.
 */
export function registerService(options: RegisterServiceOptions): Promise<Registration> {
  const { env } = options;
  return registerInstance({
    redis: env.redisUrl, keyPrefix: env.registryKeyPrefix, key: env.registryKey, logger: options.logger,
    service: options.service, instanceId: options.instanceId, routePrefix: options.routePrefix, version: options.version,
    publicRoutes: options.publicRoutes, routeLimits: options.routeLimits, tasks: options.tasks, url: options.url,
  });
}
