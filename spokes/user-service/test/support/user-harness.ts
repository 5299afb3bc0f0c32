import { randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import {
  connectBus, createEnvelope, createLogger, createStaticKeySource, createTokenVerifier, startService, type Bus, type Envelope, type Pool,
} from '@hubspoke/kit';
import {
  captureLogs, createTestDatabase, createTestKeys, deleteTestTopology, TEST_AUDIENCE, TEST_ISSUER, testAmqpUrl, testRedisUrl, uniquePrefix, type TestKeys, testRegistryKey
} from '@hubspoke/kit/testing';
import { loadConfig } from '../../src/config.js';
import { userService } from '../../src/service.js';

export interface UserHarness {
  app: RequestListener;
  db: Pool;
  /** The spoke's bus: `consumed` tells when user.registered was handled. */
  bus: Bus;
  /** A test-only consumer on the same events exchange: `consumed` shows what the spoke published. */
  probe: Bus;
  keys: TestKeys;
  logs: Record<string, unknown>[];
  /** Publishes user.registered v1 as the auth spoke would, and resolves once the spoke has handled it. */
  register: (payload: { userId: string; email: string; name?: string; role?: string }, envelope?: Envelope) => Promise<{ envelope: Envelope; duplicate: boolean }>;
  waitForPublished: (type: string, userId: string) => Promise<Envelope>;
  close: () => Promise<void>;
}

export const registeredEnvelope = (payload: object) => createEnvelope({ source: 'auth', type: 'user.registered', version: 1, payload });

/**
 * The user spoke started as main.ts starts it (the kit's startService) on real Postgres (a fresh
 * database) and RabbitMQ (a unique prefix), trusting tokens signed with the test's own keys.
 */
export async function startUserHarness(label: string): Promise<UserHarness> {
  const database = await createTestDatabase(label);
  const { stream, lines } = captureLogs();
  const logger = createLogger({ service: 'user', level: 'info', destination: stream });
  const prefix = uniquePrefix('user');
  const config = loadConfig({
    DATABASE_URL: database.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, REDIS_URL: testRedisUrl(), REGISTRY_KEY_PREFIX: `${prefix}:`,
    REGISTRY_KEY: testRegistryKey('user'), AUTH_JWKS_URL: 'http://127.0.0.1:9/unused', AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE,
    DRAIN_DELAY_MS: '0', VALIDATE_RESPONSES: 'true',
  });
  const keys = await createTestKeys();
  const service = await startService(userService(config), {
    logger, port: 0, exit: () => undefined, relay: { pollIntervalMs: 200 },
    verifier: createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
  });
  const { app, context: { db, bus } } = service;

  const probeLogger = createLogger({ service: 'probe', level: 'silent' });
  const probe = await connectBus({ url: testAmqpUrl(), service: 'probe', prefix, logger: probeLogger });
  const probed = await probe.consume({ name: 'user-events', bindings: ['user.updated.v1', 'user.deleted.v1'], db, handler: async () => undefined, retryDelaysMs: [200] });

  return {
    app, db, bus, probe, keys, logs: lines,
    async register(payload, envelope = registeredEnvelope(payload)) {
      const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
      await probe.publish(envelope);
      const { duplicate } = await consumed;
      return { envelope, duplicate };
    },
    async waitForPublished(type, userId) {
      const { envelope } = await probe.waitFor('consumed', (c) => c.envelope.type === type && (c.envelope.payload as { userId?: string }).userId === userId);
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

export const newUserId = () => randomUUID();
