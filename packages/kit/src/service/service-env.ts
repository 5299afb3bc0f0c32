import type { EnvReader } from '../config.js';
import { LOG_LEVELS } from '../logger.js';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_DELAYS_MS } from '../messaging/consumer.js';

/** The variables every process reads the same way: where it listens, how it logs, how it stops. */
export function readProcessEnv(read: EnvReader, { port }: { port: number }) {
  const env = {
    port: read.port('PORT', port),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    drainDelayMs: read.durationMs('DRAIN_DELAY_MS', 5000),
    shutdownTimeoutMs: read.durationMs('SHUTDOWN_TIMEOUT_MS', 30_000),
    /** Check each API response against its schema (tests, staging): see `apiRoutes`. */
    validateResponses: read.bool('VALIDATE_RESPONSES', false),
  };
  if (env.drainDelayMs >= env.shutdownTimeoutMs) read.problem('DRAIN_DELAY_MS must be shorter than SHUTDOWN_TIMEOUT_MS');
  return env;
}

/** How a spoke instance registers with the hub. */
export function readRegistrationEnv(read: EnvReader) {
  return {
    /** Overrides the URL this instance registers; normally derived from its own address. */
    publicUrl: read.optionalUrl('PUBLIC_URL'),
    /** The hub network's CIDR: the instance registers its own address in it (compose sets it). */
    advertiseSubnet: read.optionalString('REGISTRY_ADVERTISE_SUBNET'),
    redisUrl: read.url('REDIS_URL'),
    registryKey: readServiceRegistryKey(read),
    registryKeyPrefix: read.string('REGISTRY_KEY_PREFIX', ''),
  };
}

/** How to get a key, named in every message about a missing or retired one. */
const REGISTRY_KEY_HINT = 'derive it with `npm run registry:key -- <service>` (README, "Registry credentials")';

/**
 * The spoke's own registry key. REGISTRY_SECRET (one secret shared by every service, retired) is refused
 * by name, so an old .env fails the start with a line that says what to do instead of signing records the hub ignores.
 */
function readServiceRegistryKey(read: EnvReader): string {
  refuseRetiredRegistrySecret(read, 'each service signs with its own REGISTRY_KEY');
  if (read.optionalString('REGISTRY_KEY') === undefined) {
    read.problem(`REGISTRY_KEY is missing: ${REGISTRY_KEY_HINT}`);
    return '';
  }
  return read.secret('REGISTRY_KEY');
}

/** The hub's REGISTRY_MASTER_KEY, every service's registry key is derived from; no spoke holds it. */
export function readRegistryMasterKey(read: EnvReader): string {
  refuseRetiredRegistrySecret(read, 'the hub verifies each service with a key derived from REGISTRY_MASTER_KEY');
  return read.secret('REGISTRY_MASTER_KEY', { minLength: 32 });
}

function refuseRetiredRegistrySecret(read: EnvReader, instead: string): void {
  if (read.optionalString('REGISTRY_SECRET') !== undefined) {
    read.problem(`REGISTRY_SECRET is no longer used: ${instead}; ${REGISTRY_KEY_HINT}`);
  }
}

/** A spoke: a process that registers with the hub. */
export function readInstanceEnv(read: EnvReader, defaults: { port: number }) {
  return { ...readProcessEnv(read, defaults), ...readRegistrationEnv(read) };
}

/** A service that owns a Postgres database. */
export function readPostgresEnv(read: EnvReader) {
  return { databaseUrl: read.url('DATABASE_URL') };
}

/** A service on the RabbitMQ bus; the prefix keeps test runs apart on a shared broker. */
export function readAmqpEnv(read: EnvReader) {
  return { amqpUrl: read.url('AMQP_URL'), amqpPrefix: read.string('AMQP_PREFIX', ''), consumerRetry: readConsumerRetry(read) };
}

// RabbitMQ refuses a queue TTL past 2^32 - 1 ms; each distinct delay is a queue of its own, so keep the list short.
const MAX_RETRY_DELAY_MS = 2 ** 32 - 1;
const MAX_RETRY_DELAYS = 10;
const MAX_ATTEMPTS = 100;

/**
 * How every consumer of the service retries a failing message (docs/messaging.md, "Attempts, time limits and dead
 * letters"): the delay before each retry (the last repeating) and the deliveries before the DLQ.
 */
function readConsumerRetry(read: EnvReader) {
  const retryDelaysMs = read.durationsMs('MESSAGING_RETRY_DELAYS', DEFAULT_RETRY_DELAYS_MS);
  const maxAttempts = read.int('MESSAGING_MAX_ATTEMPTS', DEFAULT_MAX_ATTEMPTS, { min: 1, max: MAX_ATTEMPTS });
  if (retryDelaysMs && retryDelaysMs.length > MAX_RETRY_DELAYS) {
    read.problem(`MESSAGING_RETRY_DELAYS has ${retryDelaysMs.length} delays: at most ${MAX_RETRY_DELAYS} (the last one repeats)`);
  }
  if (retryDelaysMs?.some((ms) => ms < 1 || ms > MAX_RETRY_DELAY_MS)) {
    read.problem(`MESSAGING_RETRY_DELAYS must hold delays from 1ms to ${MAX_RETRY_DELAY_MS}ms (RabbitMQ's largest queue TTL)`);
  }
  return { retryDelaysMs, maxAttempts };
}

/** A service that verifies access tokens against the auth spoke's JWKS. */
export function readTokenEnv(read: EnvReader) {
  return {
    auth: {
      jwksUrl: read.url('AUTH_JWKS_URL'),
      issuer: read.string('AUTH_ISSUER', 'hubspoke-auth'),
      audience: read.string('AUTH_AUDIENCE', 'hubspoke'),
    },
  };
}

export type ProcessEnv = ReturnType<typeof readProcessEnv>;
export type RegistrationEnv = ReturnType<typeof readRegistrationEnv>;
export type InstanceEnv = ReturnType<typeof readInstanceEnv>;
export type PostgresEnv = ReturnType<typeof readPostgresEnv>;
export type AmqpEnv = ReturnType<typeof readAmqpEnv>;
export type TokenEnv = ReturnType<typeof readTokenEnv>;
