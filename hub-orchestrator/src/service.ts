import { Redis } from 'ioredis';
import { createRegistryReader, type AppContext, type ServiceContext, type ServiceDefinition } from '@hubspoke/kit';
import { createApp } from './app.js';
import type { HubConfig } from './config.js';

/** Everything the kit needs to start the hub; `main.ts` runs it. The hub reads the registry, it never registers. */
export function hubService(config: HubConfig): ServiceDefinition<HubConfig, HubDomain> {
  return { name: 'hub', version: '0.1.0', config, domain: startHubDomain, createApp };
}

/** The live registry the route table follows, and the Redis client rate limits count in. */
async function startHubDomain({ config, logger, onStop }: ServiceContext<HubConfig>) {
  const registry = createRegistryReader({ redisUrl: config.redisUrl, logger, ...config.registry });
  await registry.start();
  onStop('registry reader', () => registry.close());
  // Rate limiting is on the request path: fail in milliseconds while Redis is away, never queue.
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
  redis.on('error', (error) => logger.debug({ err: error }, 'rate-limit redis connection error'));
  onStop('rate-limit redis', () => redis.quit());
  return { registry, redis };
}

export type HubDomain = Awaited<ReturnType<typeof startHubDomain>>;
export type HubContext = AppContext<HubConfig, HubDomain>;
