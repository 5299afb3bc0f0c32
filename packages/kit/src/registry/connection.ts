import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * A connection for registry work, which runs on timers and shutdown paths: commands fail fast while
 * Redis is away instead of queueing (ioredis's offline queue would hang them: docs/ARCHITECTURE.md, "Traps"), and the
 * connection keeps reconnecting in the background, at most a second apart, so recovery is prompt.
 */
export function createRegistryConnection(url: string, logger: Logger, role: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: 2000,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    // The reader subscribes again itself on every 'ready', then resyncs to cover what it missed.
    autoResubscribe: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
  });
  // Outages are reported by the registry's own state; an unhandled 'error' event would only print noise.
  redis.on('error', (error) => logger.debug({ err: error, role }, 'registry: redis connection error'));
  return redis;
}
