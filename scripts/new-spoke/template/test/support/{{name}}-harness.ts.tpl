import type { RequestListener } from 'node:http';
import { {{Pascal}}ItemCreatedV1 } from '@hubspoke/contracts';
import {
  connectBus, createLogger, createStaticKeySource, createTokenVerifier, startService, type Bus, type Envelope, type Pool, type PublicRoute,
} from '@hubspoke/kit';
import {
  createTestDatabase, createTestKeys, deleteTestTopology, TEST_AUDIENCE, TEST_ISSUER, testAmqpUrl, testRedisUrl, uniquePrefix, type TestKeys, testRegistryKey
} from '@hubspoke/kit/testing';
import { loadConfig } from '../../src/config.js';
import { {{camel}}Service } from '../../src/service.js';

export interface {{Pascal}}Harness {
  app: RequestListener;
  db: Pool;
  /** The spoke's bus: `consumed` tells when an event was handled. */
  bus: Bus;
  /** A test-only bus on the same events exchange: publishes as other spokes would, and sees what this one publishes. */
  probe: Bus;
  keys: TestKeys;
  /** The routes it registers with the hub as public: the hub lets them through without a token. */
  publicRoutes: PublicRoute[];
  /** Resolves with the first event of `type` published by the spoke whose payload passes `match`. */
  waitForPublished: (type: string, match: (payload: Record<string, unknown>) => boolean) => Promise<Envelope>;
  close: () => Promise<void>;
}

/**
 * The {{name}} spoke started as main.ts starts it (the kit's startService) on real Postgres (a fresh
 * database) and RabbitMQ and Redis (a unique prefix), trusting tokens signed with the test's own keys;
 * every response is checked against its schema (VALIDATE_RESPONSES), so a route that answers what it
 * does not document fails its test.
 */
export async function start{{Pascal}}Harness(label: string): Promise<{{Pascal}}Harness> {
  const database = await createTestDatabase(label);
  const prefix = uniquePrefix('{{name}}');
  const config = loadConfig({
    DATABASE_URL: database.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, REDIS_URL: testRedisUrl(), REGISTRY_KEY_PREFIX: `${prefix}:`,
    REGISTRY_KEY: testRegistryKey('{{name}}'), AUTH_JWKS_URL: 'http://127.0.0.1:9/unused', AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE,
    DRAIN_DELAY_MS: '0', VALIDATE_RESPONSES: 'true',
  });
  const keys = await createTestKeys();
  const definition = {{camel}}Service(config);
  const service = await startService(definition, {
    logger: createLogger({ service: '{{name}}', level: 'silent' }), port: 0, exit: () => undefined, relay: { pollIntervalMs: 200 },
    verifier: createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
  });
  const { app, context: { db, bus } } = service;

  const probe = await connectBus({ url: testAmqpUrl(), service: 'probe', prefix, logger: createLogger({ service: 'probe', level: 'silent' }) });
  const probed = await probe.consume({ name: '{{name}}-events', bindings: [{{Pascal}}ItemCreatedV1.routingKey], db, handler: async () => undefined, retryDelaysMs: [200] });

  return {
    app, db, bus, probe, keys, publicRoutes: definition.registration?.publicRoutes ?? [],
    async waitForPublished(type, match) {
      const { envelope } = await probe.waitFor('consumed', (c) => c.envelope.type === type && match(c.envelope.payload as Record<string, unknown>));
      return envelope;
    },
    async close() {
      await probe.close();
      await service.shutdown('test finished');
      await deleteTestTopology(prefix, [...service.queues, probed.queues]);
      await database.drop();
    },
  };
}
