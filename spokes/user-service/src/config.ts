import { envReader, LOG_LEVELS } from '@hubspoke/kit';

/** Every variable the user spoke reads; nothing else in the service knows their names. */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    port: read.port('PORT', 3002),
    publicUrl: read.optionalUrl('PUBLIC_URL'),
    // The hub network's CIDR: this replica registers its own address in it (compose sets it for every service).
    instanceSubnet: read.optionalString('REGISTRY_ADVERTISE_SUBNET'),
    databaseUrl: read.url('DATABASE_URL'),
    redisUrl: read.url('REDIS_URL'),
    amqpUrl: read.url('AMQP_URL'),
    amqpPrefix: read.string('AMQP_PREFIX', ''),
    registrySecret: read.secret('REGISTRY_SECRET'),
    registryKeyPrefix: read.string('REGISTRY_KEY_PREFIX', ''),
    auth: {
      jwksUrl: read.url('AUTH_JWKS_URL'),
      issuer: read.string('AUTH_ISSUER', 'hubspoke-auth'),
      audience: read.string('AUTH_AUDIENCE', 'hubspoke'),
    },
    drainDelayMs: read.durationMs('DRAIN_DELAY_MS', 5000),
    shutdownTimeoutMs: read.durationMs('SHUTDOWN_TIMEOUT_MS', 30_000),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  if (config.drainDelayMs >= config.shutdownTimeoutMs) read.problem('DRAIN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS');
  read.assertValid('user');
  return Object.freeze(config);
}

export type UserConfig = ReturnType<typeof loadConfig>;
