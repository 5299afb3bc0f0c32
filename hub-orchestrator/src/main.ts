import { Redis } from 'ioredis';
import {
  closeServer, createJwksKeySource, createLifecycle, createLogger, createRegistryReader, createTokenVerifier, listen,
} from '@hubspoke/kit';
import { createApp } from './app.js';
import { loadConfig } from './config.js';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger({ service: 'hub', level: config.logLevel });
  const lifecycle = createLifecycle({ logger, drainDelayMs: config.drainDelayMs, timeoutMs: config.shutdownTimeoutMs });
  lifecycle.installSignalHandlers();

  const registry = createRegistryReader({ redisUrl: config.redisUrl, logger, ...config.registry });
  await registry.start();
  // Rate limiting is on the request path: fail in milliseconds while Redis is away, never queue (DESIGN.md §9).
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, commandTimeout: 150, maxRetriesPerRequest: 1 });
  redis.on('error', (error) => logger.debug({ err: error }, 'rate-limit redis connection error'));
  const verifier = createTokenVerifier({
    keys: createJwksKeySource({ url: config.auth.jwksUrl, logger }),
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });

  const app = createApp({ config, logger, registry, verifier, redis, isDraining: lifecycle.isDraining });
  const server = await listen(app, { port: config.port });
  logger.info({ port: config.port }, 'hub listening');

  lifecycle.onStop('http server', () => closeServer(server));
  lifecycle.onStop('registry reader', () => registry.close());
  lifecycle.onStop('rate-limit redis', () => redis.quit());
}

main().catch((error: unknown) => {
  console.error('hub: failed to start', error); // no logger yet, or it failed with it
  process.exit(1);
});
