import type { Server, RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { EnvReader } from './config.js';
import { closeServer, listen } from './http/server.js';
import type { DependencyCheck } from './http/health.js';
import type { Lifecycle } from './lifecycle.js';
import type { Bus } from './messaging/bus.js';
import { LOG_LEVELS } from './logger.js';
import { registerInstance, type Registration } from './registry/client.js';
import { deriveInstanceUrl } from './registry/instance-url.js';
import type { PublicRoute, RouteLimit } from './registry/types.js';
import type { Queryable } from './db/pool.js';

/** The variables every spoke reads the same way: where it listens, how it registers, how it stops. */
export function readInstanceEnv(read: EnvReader, { port }: { port: number }) {
  const env = {
    port: read.port('PORT', port),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    /** Overrides the URL this instance registers; normally derived from its own address. */
    publicUrl: read.optionalUrl('PUBLIC_URL'),
    /** The hub network's CIDR: the instance registers its own address in it (compose sets it). */
    advertiseSubnet: read.optionalString('REGISTRY_ADVERTISE_SUBNET'),
    redisUrl: read.url('REDIS_URL'),
    registrySecret: read.secret('REGISTRY_SECRET'),
    registryKeyPrefix: read.string('REGISTRY_KEY_PREFIX', ''),
    drainDelayMs: read.durationMs('DRAIN_DELAY_MS', 5000),
    shutdownTimeoutMs: read.durationMs('SHUTDOWN_TIMEOUT_MS', 30_000),
  };
  if (env.drainDelayMs >= env.shutdownTimeoutMs) read.problem('DRAIN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS');
  return env;
}

export type InstanceEnv = ReturnType<typeof readInstanceEnv>;

export interface ServeOptions {
  app: RequestListener;
  env: InstanceEnv;
  lifecycle: Lifecycle;
  logger: Logger;
  service: string;
  routePrefix: string;
  version: string;
  publicRoutes?: PublicRoute[];
  routeLimits?: RouteLimit[];
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
  const registration = await registerInstance({
    redis: env.redisUrl, keyPrefix: env.registryKeyPrefix, secret: env.registrySecret, logger,
    service: options.service, routePrefix: options.routePrefix, version: options.version,
    publicRoutes: options.publicRoutes, routeLimits: options.routeLimits,
    url: deriveInstanceUrl({ port: env.port, override: env.publicUrl, subnet: env.advertiseSubnet }),
  });
  lifecycle.onDrain('registry: draining', registration.markDraining);
  lifecycle.onStop('registry: deregister', async () => {
    await registration.deregister();
    await registration.stop();
  });
  lifecycle.onStop('http server', () => closeServer(server));
  return { server, registration };
}

/**
 * Readiness of a spoke that owns a database and publishes through the outbox: without its Postgres it
 * cannot work (503); without RabbitMQ it still serves, its events waiting in the outbox (degraded).
 */
export function outboxServiceChecks(db: Queryable, bus: Pick<Bus, 'isConnected'>): Record<string, DependencyCheck> {
  return {
    postgres: { critical: true, check: () => db.query('SELECT 1') },
    rabbitmq: {
      critical: false,
      check: () => {
        if (!bus.isConnected()) throw new Error('not connected to RabbitMQ');
      },
    },
  };
}
