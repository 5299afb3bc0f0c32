import amqp from 'amqplib';
import request from 'supertest';
import {
  createJwksKeySource, createLogger, createTokenVerifier, declareEventsExchange, JWKS_PATH, startService, type Envelope,
} from '@hubspoke/kit';
import { captureLogs, createTestDatabase, deleteTestTopology, eventually, testAmqpUrl, testRedisUrl, uniquePrefix, testRegistryKey } from '@hubspoke/kit/testing';
import { loadConfig } from '../src/config.js';
import { authService } from '../src/service.js';

export const PASSWORD = 'correct horse battery staple';

/** What every test config shares: cheap argon2 (the OWASP cost is the production default, not a test need). */
export const TEST_ENV: NodeJS.ProcessEnv = {
  REDIS_URL: testRedisUrl(),
  REGISTRY_KEY: testRegistryKey('auth'),
  AUTH_KEY_ENCRYPTION_KEY: 'auth-test-key-encryption-key-0123456789',
  ARGON2_MEMORY_KIB: '1024',
  ARGON2_TIME_COST: '1',
  LOG_LEVEL: 'debug',
  TRUSTED_PROXY_HOPS: '1',
  DRAIN_DELAY_MS: '0',
  // Every response the tests receive is checked against its route's schema: a mismatch is a 500.
  VALIDATE_RESPONSES: 'true',
};

export interface AuthFixtureOptions {
  env?: NodeJS.ProcessEnv;
  /** The broker URL the service's bus uses (a fault proxy in outage tests); observers always use the real one. */
  amqpUrl?: string;
  consumerRetries?: { maxAttempts?: number; retryDelaysMs?: number[] };
}

/**
 * One test file's auth spoke, started as main.ts starts it (the kit's startService) on a fresh database
 * and a prefix for every exchange, queue and registry key, with fast retries; plus an observer queue
 * that records every event the spoke publishes.
 */
export async function authFixture(label: string, options: AuthFixtureOptions = {}) {
  const database = await createTestDatabase(label);
  const prefix = uniquePrefix('auth');
  const configFor = (env: NodeJS.ProcessEnv = {}) => loadConfig({
    ...TEST_ENV, DATABASE_URL: database.url, AMQP_URL: options.amqpUrl ?? testAmqpUrl(), AMQP_PREFIX: prefix, REGISTRY_KEY_PREFIX: `${prefix}:`,
    ...options.env, ...env,
  });
  const config = configFor();
  const { stream, lines } = captureLogs();
  const logger = createLogger({ service: 'auth', level: config.logLevel, destination: stream });
  const observer = await observeEvents(prefix);
  const start = (startConfig: typeof config, startLogger = logger) => startService(authService(startConfig), {
    logger: startLogger, port: 0, exit: () => undefined,
    pool: { max: 20 },
    bus: { reconnectDelayMs: { min: 100, max: 1_000 } },
    relay: { pollIntervalMs: 200, retryDelayMs: { min: 100, max: 1_000 } },
    consumers: { maxAttempts: 3, retryDelaysMs: [50, 100], ...options.consumerRetries },
  });
  const service = await start(config);
  /** The instance running now: the first one, or the one the last `restart` started. */
  let running: Awaited<ReturnType<typeof start>> | undefined = service;
  const { app, url: baseUrl, context: { db, bus, domain: { keys } } } = service;
  const queues = service.queues[0]!;
  const verifier = createTokenVerifier({
    keys: createJwksKeySource({ url: `${baseUrl}${JWKS_PATH}`, minRefreshIntervalMs: 0 }),
    issuer: config.tokens.issuer,
    audience: config.tokens.audience,
  });

  /**
   * Stops the running instance and starts another on the same database and prefix, with `env` on top of this
   * fixture's: a deploy or a restart. Rejects, with nothing left running, when the start fails. The fixture's own
   * app, db and keys belong to the first instance: use the ones returned here after it.
   */
  async function restart(env: NodeJS.ProcessEnv = {}) {
    await running?.shutdown('restart');
    running = undefined;
    const logs = captureLogs();
    const restarted = await start(configFor(env), createLogger({ service: 'auth', level: config.logLevel, destination: logs.stream }));
    running = restarted;
    return { app: restarted.app, db: restarted.context.db, bus: restarted.context.bus, keys: restarted.context.domain.keys, lines: logs.lines };
  }

  let counter = 0;
  const uniqueEmail = (name = 'user') => `${name}-${++counter}-${prefix}@example.com`;

  /** Registers a fresh account and returns the 201 body. */
  async function register(fields: { email?: string; password?: string; name?: string } = {}) {
    const res = await request(app).post('/register').send({ email: uniqueEmail(), password: PASSWORD, name: 'Ana', ...fields });
    if (res.status !== 201) throw new Error(`register answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body as { user: { id: string; email: string; name: string; role: string }; accessToken: string; refreshToken: string; expiresIn: number };
  }

  /**
   * Registers one more account and waits for its user.registered. The relay publishes rows in commit order and the
   * observer records in delivery order, so every event committed before it has been recorded by then: a test can
   * then assert that an event did not arrive twice, or at all, without sleeping.
   */
  async function eventsSettled() {
    const { user } = await register();
    await eventually(() => observer.events.some((e) => e.type === 'user.registered' && (e.payload as { userId: string }).userId === user.id), 20_000);
  }

  async function cleanup() {
    await running?.shutdown('test finished');
    await observer.close();
    await deleteTestTopology(prefix, [queues]);
    await database.drop();
  }

  return { app, baseUrl, config, db, bus, keys, logger, lines, prefix, queues, events: observer.events, verifier, uniqueEmail, register, eventsSettled, restart, cleanup };
}

export type AuthFixture = Awaited<ReturnType<typeof authFixture>>;

/** A queue bound to every event on the exchange: what any consumer downstream would receive. */
export async function observeEvents(prefix: string) {
  const connection = await amqp.connect(testAmqpUrl());
  const channel = await connection.createChannel();
  const exchange = await declareEventsExchange(channel, prefix);
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, exchange, '#');
  const events: Envelope[] = [];
  await channel.consume(queue, (message) => {
    try {
      if (message) events.push(JSON.parse(message.content.toString('utf8')) as Envelope);
    } catch {
      // Poison published by a test on purpose: not an event.
    }
  }, { noAck: true });
  return { events, close: () => connection.close() };
}


/** Publishes raw bytes to the exchange, as a broken or hostile producer could. */
