import { fileURLToPath } from 'node:url';
import {
  connectBus, createJwksKeySource, createLifecycle, createLogger, createMetrics, createPool, createTokenVerifier, migrate,
  MESSAGING_MIGRATIONS_DIR, serveAndRegister, startOutboxRelay,
} from '@hubspoke/kit';
import { createApp } from './app.js';
import { loadConfig } from './config.js';
import { userRegisteredConsumer } from './consumers/user-registered-consumer.js';
import { createProfileService } from './domain/profile-service.js';

const SERVICE = 'user';
const VERSION = '0.1.0';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger({ service: SERVICE, level: config.logLevel });
  const lifecycle = createLifecycle({ logger, drainDelayMs: config.drainDelayMs, timeoutMs: config.shutdownTimeoutMs });
  lifecycle.installSignalHandlers();

  const db = createPool({ connectionString: config.databaseUrl, applicationName: 'user-service' }, logger);
  await migrate(db, MESSAGING_MIGRATIONS_DIR, logger);
  await migrate(db, fileURLToPath(new URL('../migrations', import.meta.url)), logger);

  // Resolves after the first attempt even with the broker down: the service starts, and consumes once it is back.
  const bus = await connectBus({ url: config.amqpUrl, service: SERVICE, prefix: config.amqpPrefix, logger });
  const profiles = createProfileService({ db, logger });
  await bus.consume(userRegisteredConsumer({ db, profiles }));
  const relay = startOutboxRelay({ db, bus, logger });

  const verifier = createTokenVerifier({
    keys: createJwksKeySource({ url: config.auth.jwksUrl, logger }), issuer: config.auth.issuer, audience: config.auth.audience,
  });
  const app = createApp({ db, bus, profiles, verifier, logger, metrics: createMetrics({ service: SERVICE }), lifecycle });
  const { registration } = await serveAndRegister({ app, env: config, lifecycle, logger, service: SERVICE, routePrefix: 'users', version: VERSION });
  lifecycle.onStop('outbox relay', relay.stop);
  lifecycle.onStop('amqp: consumers and connection', () => bus.close());
  lifecycle.onStop('postgres pool', () => db.end());
  logger.info({ port: config.port, instanceId: registration.instanceId }, 'user service started');
}

main().catch((error) => {
  console.error('user: failed to start', error); // no logger yet
  process.exit(1);
});
