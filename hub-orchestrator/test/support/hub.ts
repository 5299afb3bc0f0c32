import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import {
  closeServer, createLogger, createMetrics, createRegistryReader, createStaticKeySource, createTokenVerifier, listen, serverPort,
  type LogLevel, type RegistryReader,
} from '@hubspoke/kit';
import { createTestKeys, signTestToken, testRedisUrl, TEST_AUDIENCE, TEST_ISSUER, TEST_REGISTRY_MASTER_KEY } from '@hubspoke/kit/testing';
import { createApp, type HubAppDeps } from '../../src/app.js';
import { UPSTREAM_DEFAULTS } from '../../src/config.js';

export const HUB_TEST_CONFIG: HubAppDeps['config'] = {
  trustedProxyHops: 1,
  validateResponses: true,
  upstreamTimeoutMs: 10_000,
  upstreamTimeoutByPrefix: {},
  breaker: { consecutiveFailures: 5, failureRatio: 0.5, minRequests: 20, windowMs: 10_000, coolDownMs: 5_000 },
  upstream: UPSTREAM_DEFAULTS,
  // Load tests send thousands of requests from one address: limits high enough never to interfere.
  rateLimit: { keyPrefix: 'unused', revocationKeyPrefix: '', perIp: { limit: 1_000_000, windowMs: 60_000 }, perUser: { limit: 1_000_000, windowMs: 60_000 }, syncMs: 50 },
};

export interface TestHub {
  url: string;
  registry: RegistryReader;
  /** A token for `role`, signed with the keys this hub trusts. */
  token: (role: 'user' | 'admin', sub?: string) => Promise<string>;
  close: () => Promise<void>;
}

export interface TestHubOptions {
  keyPrefix: string;
  redisUrl?: string;
  config?: Partial<HubAppDeps['config']>;
  logLevel?: LogLevel;
}

/** The hub in-process: createApp over a real registry reader, listening on a free port. */
export async function startHub({ keyPrefix, redisUrl = testRedisUrl(), config = {}, logLevel = 'silent' }: TestHubOptions): Promise<TestHub> {
  const logger = createLogger({ service: 'hub', level: logLevel });
  const registry = createRegistryReader({ redisUrl, keyPrefix, masterKey: TEST_REGISTRY_MASTER_KEY, logger, resyncMs: 500 });
  await registry.start();
  const redis = new Redis(redisUrl, { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  await new Promise((resolve) => redis.once('ready', resolve));
  const keys = await createTestKeys();
  const verifier = createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  const app = createApp({
    config: { ...HUB_TEST_CONFIG, rateLimit: { ...HUB_TEST_CONFIG.rateLimit, keyPrefix: `${keyPrefix}rl`, revocationKeyPrefix: keyPrefix }, ...config },
    logger, metrics: createMetrics({ service: 'hub' }), lifecycle: { isDraining: () => false }, verifier, domain: { registry, redis },
  });
  const server: Server = await listen(app, { port: 0, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${serverPort(server)}`,
    registry,
    token: (role, sub = `user-${role}`) => signTestToken(keys, { sub, role }),
    async close() {
      await closeServer(server);
      await registry.close();
      redis.disconnect();
    },
  };
}
