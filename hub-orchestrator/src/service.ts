import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createRegistryReader, createRevocationMirror, type AppContext, type ServiceContext, type ServiceDefinition } from '@hubspoke/kit';
import { createApp } from './app.js';
import { dlqRoutes } from './admin/dlq-routes.js';
import { createOwnedRegistry } from './ownership/owned-registry.js';
import type { HubConfig } from './config.js';
import { startJobs } from './jobs/jobs.js';

// Outside src/ so the same path holds from src/ (tests) and dist/ (images).
const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

/** Everything the kit needs to start the hub; `main.ts` runs it. The hub reads the registry, it never registers. */
export function hubService(config: HubConfig): ServiceDefinition<HubConfig, HubDomain> {
  return {
    name: 'hub', version: '0.1.0', config, migrationsDir: MIGRATIONS_DIR, domain: startHubDomain, createApp,
    consumers: ({ domain }) => [domain.jobs.consumer],
  };
}

/**
 * The live registry the route table follows (verified records whose service owns its prefix), the Redis
 * client rate limits count in, the revocation list's copy in memory, the jobs and the dead-letter routes.
 */
async function startHubDomain({ config, logger, onStop, db, bus, metrics, lifecycle }: ServiceContext<HubConfig>) {
  const verified = createRegistryReader({ redisUrl: config.redisUrl, logger, ...config.registry });
  await verified.start();
  onStop('registry reader', () => verified.close());
  const registry = await createOwnedRegistry({ registry: verified, db, logger, metricsRegistry: metrics.registry });
  onStop('route prefix owners refresh', () => registry.stop());
  // Rate limiting is on the request path: fail in milliseconds while Redis is away, never queue.
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
  redis.on('error', (error) => logger.debug({ err: error }, 'rate-limit redis connection error'));
  onStop('rate-limit redis', () => redis.quit());
  const revocations = createRevocationMirror({ redisUrl: config.redisUrl, keyPrefix: config.rateLimit.revocationKeyPrefix, logger });
  await revocations.start();
  onStop('revocation mirror', () => revocations.close());
  const jobs = startJobs({ db, bus, registry, logger, metricsRegistry: metrics.registry, lifecycle, config: config.jobs });
  onStop('jobs: dispatcher and event streams', () => jobs.stop());
  const dlq = dlqRoutes({
    managementUrl: config.rabbitMqManagementUrl, amqpUrl: config.amqpUrl, amqpPrefix: config.amqpPrefix, metricsRegistry: metrics.registry, logger,
  });
  return { registry, prefixes: registry, redis, revocations, jobs, dlq };
}

export type HubDomain = Awaited<ReturnType<typeof startHubDomain>>;
export type HubContext = AppContext<HubConfig, HubDomain>;
