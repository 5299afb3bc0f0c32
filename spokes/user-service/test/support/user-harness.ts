import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Express } from 'express';
import {
  connectBus, createEnvelope, createLogger, createMetrics, createPool, createStaticKeySource, createTokenVerifier, migrate,
  MESSAGING_MIGRATIONS_DIR, startOutboxRelay, type Bus, type Envelope, type Pool,
} from '@hubspoke/kit';
import {
  captureLogs, createTestDatabase, createTestKeys, TEST_AUDIENCE, TEST_ISSUER, testAmqpUrl, uniquePrefix, type TestKeys,
} from '@hubspoke/kit/testing';
import { createApp } from '../../src/app.js';
import { userRegisteredConsumer } from '../../src/consumers/user-registered-consumer.js';
import { deleteTestTopology } from '@hubspoke/kit/testing';
import { createProfileService } from '../../src/domain/profile-service.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));

export interface UserHarness {
  app: Express;
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

/** The user app on real Postgres (a fresh database) and RabbitMQ (a unique prefix), as main.ts wires it. */
export async function startUserHarness(label: string): Promise<UserHarness> {
  const database = await createTestDatabase(label);
  const { stream, lines } = captureLogs();
  const logger = createLogger({ service: 'user', level: 'info', destination: stream });
  const db = createPool({ connectionString: database.url, applicationName: 'user-test' }, logger);
  await migrate(db, MESSAGING_MIGRATIONS_DIR, logger);
  await migrate(db, MIGRATIONS_DIR, logger);

  const prefix = uniquePrefix('user');
  const bus = await connectBus({ url: testAmqpUrl(), service: 'user', prefix, logger });
  const profiles = createProfileService({ db, logger });
  const consumer = await bus.consume(userRegisteredConsumer({ db, profiles }));
  const relay = startOutboxRelay({ db, bus, logger, pollIntervalMs: 200 });

  const probeLogger = createLogger({ service: 'probe', level: 'silent' });
  const probe = await connectBus({ url: testAmqpUrl(), service: 'probe', prefix, logger: probeLogger });
  const probed = await probe.consume({ name: 'user-events', bindings: ['user.updated.v1', 'user.deleted.v1'], db, handler: async () => undefined, retryDelaysMs: [200] });

  const keys = await createTestKeys();
  const verifier = createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  const app = createApp({ db, bus, profiles, verifier, logger, metrics: createMetrics({ service: 'user' }), lifecycle: { isDraining: () => false } });

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
      await relay.stop();
      await bus.close();
      await probe.close();
      await deleteTestTopology(prefix, [consumer.queues, probed.queues]);
      await db.end();
      await database.drop();
    },
  };
}

export const newUserId = () => randomUUID();
