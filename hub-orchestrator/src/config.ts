import { envReader, readAmqpEnv, readPostgresEnv, readProcessEnv, readRegistryMasterKey, readTokenEnv, type EnvReader } from '@hubspoke/kit';

/**
 * Failover and load shedding per spoke instance (routing/proxy.ts): connect and per-attempt limits well
 * under a second, so a request that met a dead or hung instance is retried on another in time.
 */
export const UPSTREAM_DEFAULTS = {
  connectTimeoutMs: 250,
  attemptTimeoutMs: 500,
  attemptTimeoutByPrefix: {} as Record<string, number>,
  maxOutstanding: 256,
  probeIntervalMs: 1_000,
};

/** The hub's configuration, read once from the environment (only main.ts calls this). */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  // The namespace the hub shares with spokes in Redis: registry records and the auth spoke's revocations.
  const sharedKeyPrefix = read.string('REGISTRY_KEY_PREFIX', '');
  const config = {
    ...readProcessEnv(read, { port: 3000 }),
    redisUrl: read.url('REDIS_URL'),
    registry: {
      masterKey: readRegistryMasterKey(read),
      keyPrefix: sharedKeyPrefix,
      resyncMs: read.durationMs('REGISTRY_RESYNC_MS', 2_000),
    },
    ...readTokenEnv(read),
    // Jobs: their state in the hub's own database, their tasks and results over RabbitMQ.
    ...readPostgresEnv(read),
    ...readAmqpEnv(read),
    /** The broker's management HTTP API with credentials (http://user:pass@rabbitmq:15672), for the dead-letter admin routes. */
    rabbitMqManagementUrl: read.optionalUrl('RABBITMQ_MANAGEMENT_URL'),
    jobs: {
      maxItems: read.int('JOBS_MAX_ITEMS', 10_000, { min: 1, max: 100_000 }),
      maxInputBytes: read.int('JOBS_MAX_INPUT_BYTES', 16_384, { min: 16, max: 1_048_576 }),
      maxActivePerUser: read.int('JOBS_MAX_ACTIVE_PER_USER', 10, { min: 1 }),
      maxOpenItemsPerUser: read.int('JOBS_MAX_OPEN_ITEMS_PER_USER', 50_000, { min: 1 }),
      dispatchIntervalMs: read.durationMs('JOBS_DISPATCH_INTERVAL_MS', 100),
      eventsHeartbeatMs: read.durationMs('JOBS_EVENTS_HEARTBEAT_MS', 15_000),
    },
    trustedProxyHops: read.int('TRUSTED_PROXY_HOPS', 1, { max: 10 }),
    upstreamTimeoutMs: read.durationMs('UPSTREAM_TIMEOUT_MS', 10_000),
    upstreamTimeoutByPrefix: prefixDurations(read, 'UPSTREAM_TIMEOUT_BY_PREFIX'),
    upstream: {
      connectTimeoutMs: read.durationMs('UPSTREAM_CONNECT_TIMEOUT_MS', UPSTREAM_DEFAULTS.connectTimeoutMs),
      attemptTimeoutMs: read.durationMs('UPSTREAM_ATTEMPT_TIMEOUT_MS', UPSTREAM_DEFAULTS.attemptTimeoutMs),
      attemptTimeoutByPrefix: prefixDurations(read, 'UPSTREAM_ATTEMPT_TIMEOUT_BY_PREFIX'),
      maxOutstanding: read.int('UPSTREAM_MAX_OUTSTANDING', UPSTREAM_DEFAULTS.maxOutstanding, { min: 1 }),
      probeIntervalMs: read.durationMs('UPSTREAM_PROBE_INTERVAL_MS', UPSTREAM_DEFAULTS.probeIntervalMs),
    },
    breaker: {
      consecutiveFailures: read.int('BREAKER_CONSECUTIVE_FAILURES', 5, { min: 1 }),
      failureRatio: read.int('BREAKER_FAILURE_PERCENT', 50, { min: 1, max: 100 }) / 100,
      minRequests: read.int('BREAKER_MIN_REQUESTS', 20, { min: 1 }),
      windowMs: read.durationMs('BREAKER_WINDOW_MS', 10_000),
      coolDownMs: read.durationMs('BREAKER_COOL_DOWN_MS', 5_000),
    },
    rateLimit: {
      keyPrefix: read.string('RATE_LIMIT_KEY_PREFIX', 'hub:rl'),
      revocationKeyPrefix: sharedKeyPrefix,
      perIp: { limit: read.int('RATE_LIMIT_IP_MAX', 600, { min: 1 }), windowMs: read.durationMs('RATE_LIMIT_IP_WINDOW_MS', 60_000) },
      perUser: { limit: read.int('RATE_LIMIT_USER_MAX', 300, { min: 1 }), windowMs: read.durationMs('RATE_LIMIT_USER_WINDOW_MS', 60_000) },
      syncMs: read.int('RATE_LIMIT_SYNC_MS', 50, { min: 0, max: 10_000 }),
    },
  };
  read.assertValid('hub');
  return Object.freeze(config);
}

export type HubConfig = ReturnType<typeof loadConfig>;

/** `reports=30s,search=2s`: a longer or shorter deadline for the spokes that need one. */
function prefixDurations(read: EnvReader, name: string): Record<string, number> {
  const result: Record<string, number> = {};
  for (const item of read.list(name, [])) {
    const match = /^([a-z0-9-]+)=(\d+)(ms|s|m)?$/.exec(item);
    if (!match) {
      read.problem(`${name} entry "${item}" is not <prefix>=<duration>`);
      continue;
    }
    result[match[1]!] = Number(match[2]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(match[3] ?? 'ms') as 'ms' | 's' | 'm'];
  }
  return result;
}
