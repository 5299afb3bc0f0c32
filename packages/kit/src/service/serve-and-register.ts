import type { Server, RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { closeServer, listen, serverPort } from '../http/server.js';
import type { Lifecycle } from '../lifecycle.js';
import { registerInstance, type Registration } from '../registry/client.js';
import { deriveInstanceUrl } from '../registry/instance-url.js';
import type { PublicRoute, RouteLimit } from '../registry/types.js';
import type { TaskDeclaration } from '../tasks/declaration.js';
import type { ProcessEnv, RegistrationEnv } from './service-env.js';

/** What a spoke tells the hub about itself, besides its address. */
export interface RegistrationSpec {
  /** The hub routes `/api/<routePrefix>/*` here. */
  routePrefix: string;
  publicRoutes?: PublicRoute[];
  routeLimits?: RouteLimit[];
  /** Filled by startService from the definition's `tasks`. */
  tasks?: TaskDeclaration[];
}

export interface ServeOptions extends RegistrationSpec {
  app: RequestListener;
  env: Pick<ProcessEnv, 'port'> & RegistrationEnv;
  lifecycle: Pick<Lifecycle, 'onDrain' | 'onStop'>;
  logger: Logger;
  service: string;
  version: string;
  instanceId: string;
}

/**
 * Listens, then registers with the hub, and adds the first shutdown steps in their required order:
 * on drain the record turns `draining` (the hub stops sending new requests), after the drain delay it
 * is deleted and then the server stops accepting and finishes what is in flight. Callers add their own
 * steps (consumers, bus, pool) after these.
 */
export async function serveAndRegister(options: ServeOptions): Promise<{ server: Server; registration: Registration }> {
  const { app, env, lifecycle, logger } = options;
  const server = await listen(app, { port: env.port });
  let registration: Registration;
  try {
    registration = await registerInstance({
      redis: env.redisUrl, keyPrefix: env.registryKeyPrefix, key: env.registryKey, logger,
      service: options.service, instanceId: options.instanceId, routePrefix: options.routePrefix, version: options.version,
      publicRoutes: options.publicRoutes, routeLimits: options.routeLimits, tasks: options.tasks,
      // The bound port: with port 0 (tests) the system picked it.
      url: deriveInstanceUrl({ port: serverPort(server), override: env.publicUrl, subnet: env.advertiseSubnet }),
    });
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  lifecycle.onDrain('registry: draining', registration.markDraining);
  lifecycle.onStop('registry: deregister', async () => {
    await registration.deregister();
    await registration.stop();
  });
  lifecycle.onStop('http server', () => closeServer(server));
  return { server, registration };
}
