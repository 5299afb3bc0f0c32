import { fileURLToPath } from 'node:url';
import {
  connectBus, createLifecycle, createLogger, createMetrics, createPool, MESSAGING_MIGRATIONS_DIR, migrate, serveAndRegister, startOutboxRelay,
} from '@hubspoke/kit';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { consumeUserDeleted } from './consumers/user-deleted-consumer.js';
import { createAuthDomain } from './domain/auth-domain.js';
import { createPasswordHasher } from './domain/passwords.js';
import { createRefreshTokenRepository } from './data/refresh-token-repository.js';
import { loadKeyRing } from './domain/key-ring.js';
import { PUBLIC_ROUTES, ROUTE_LIMITS } from './routes/hub-record.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
const PRUNE_INTERVAL_MS = 3_600_000;
const VERSION = '0.1.0';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger({ service: 'auth', level: config.logLevel });
  const lifecycle = createLifecycle({ logger, drainDelayMs: config.drainDelayMs, timeoutMs: config.shutdownTimeoutMs });
  lifecycle.installSignalHandlers();

  const db = createPool({ connectionString: config.databaseUrl, applicationName: 'auth' }, logger);
  await migrate(db, MESSAGING_MIGRATIONS_DIR, logger);
  await migrate(db, MIGRATIONS_DIR, logger);
  const keys = await loadKeyRing(config, db, logger);
  const passwords = await createPasswordHasher(config.argon2);

  const bus = await connectBus({ url: config.amqpUrl, service: 'auth', prefix: config.amqpPrefix, logger });
  await consumeUserDeleted(bus, { db, logger });
  const relay = startOutboxRelay({ db, bus, logger });

  const domain = createAuthDomain({ config, db, keys, passwords, logger });
  if (config.admin) await domain.accounts.ensureAdmin(config.admin);
  const prune = setInterval(() => {
    Promise.all([domain.throttle.prune(), createRefreshTokenRepository(db).deleteExpired(config.tokens.refreshTokenTtlMs)])
      .then(([failures, tokens]) => logger.debug({ failures, tokens }, 'pruned expired login failures and refresh tokens'))
      .catch((error: unknown) => logger.warn({ err: error }, 'pruning failed'));
  }, PRUNE_INTERVAL_MS);
  prune.unref();

  const app = createApp({ config, db, bus, keys, passwords, logger, metrics: createMetrics({ service: 'auth' }), lifecycle });
  const { registration } = await serveAndRegister({
    app, env: config, lifecycle, logger, service: 'auth', routePrefix: 'auth', version: VERSION, publicRoutes: PUBLIC_ROUTES, routeLimits: ROUTE_LIMITS,
  });
  lifecycle.onStop('outbox relay', () => relay.stop());
  lifecycle.onStop('amqp bus and consumers', () => bus.close());
  lifecycle.onStop('timers', () => {
    clearInterval(prune);
    keys.stop();
  });
  lifecycle.onStop('postgres pool', () => db.end());
  logger.info({ port: config.port, instanceId: registration.instanceId, kid: keys.current().kid }, 'auth service started');
}

main().catch((error) => {
  console.error('auth: failed to start', error); // no logger yet
  process.exit(1);
});
