import type { RequestListener } from 'node:http';
import {
  connectBus, createLogger, createStaticKeySource, createTokenVerifier, startService, type Bus, type Envelope, type Pool, type PublicRoute,
} from '@hubspoke/kit';
import {
  createTestDatabase, createTestKeys, deleteTestTopology, signTestToken, TEST_AUDIENCE, TEST_ISSUER, testAmqpUrl, testRedisUrl, uniquePrefix, type TestKeys, testRegistryKey
} from '@hubspoke/kit/testing';
import { loadConfig } from '../../src/config.js';
import { analyticsService, type AnalyticsContext } from '../../src/service.js';

export interface AnalyticsHarness {
  app: RequestListener;
  db: Pool;
  context: AnalyticsContext;
  /** The spoke's bus: `consumed` and `dead-lettered` tell what became of an event. */
  bus: Bus;
  keys: TestKeys;
  publicRoutes: PublicRoute[];
  /** Publishes on the events exchange as another spoke's outbox would, and resolves once the spoke handled each (or dead-lettered it). */
  publishAndWait: (envelopes: Envelope[], timeoutMs?: number) => Promise<void>;
  token: (sub: string, role?: 'user' | 'admin') => Promise<string>;
  close: () => Promise<void>;
}

/**
 * The analytics spoke started as main.ts starts it (the kit's startService) on real Postgres (a fresh
 * database) and RabbitMQ and Redis (a unique prefix), trusting tokens signed with the test's own keys;
 * every response is checked against its schema (VALIDATE_RESPONSES).
 */
export async function startAnalyticsHarness(label: string, env: Record<string, string> = {}): Promise<AnalyticsHarness> {
  const database = await createTestDatabase(label);
  const prefix = uniquePrefix('analytics');
  const config = loadConfig({
    DATABASE_URL: database.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, REDIS_URL: testRedisUrl(), REGISTRY_KEY_PREFIX: `${prefix}:`,
    REGISTRY_KEY: testRegistryKey('analytics'), AUTH_JWKS_URL: 'http://127.0.0.1:9/unused', AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE,
    DRAIN_DELAY_MS: '0', VALIDATE_RESPONSES: 'true', ...env,
  });
  const keys = await createTestKeys();
  const definition = analyticsService(config);
  const service = await startService(definition, {
    logger: createLogger({ service: 'analytics', level: 'silent' }), port: 0, exit: () => undefined,
    verifier: createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
  });
  const { app, context } = service;
  const publisher = await connectBus({ url: testAmqpUrl(), service: 'probe', prefix, logger: createLogger({ service: 'probe', level: 'silent' }) });

  return {
    app, db: context.db, context, bus: context.bus, keys, publicRoutes: definition.registration?.publicRoutes ?? [],
    async publishAndWait(envelopes, timeoutMs = 30_000) {
      const pending = new Map<string, number>();
      for (const e of envelopes) pending.set(e.id, (pending.get(e.id) ?? 0) + 1);
      let left = envelopes.length;
      const done = new Promise<void>((resolve, reject) => {
        const settle = (envelope: Envelope | undefined) => {
          const count = envelope && pending.get(envelope.id);
          if (!envelope || !count) return;
          pending.set(envelope.id, count - 1);
          if (--left === 0) finish();
        };
        const onConsumed = ({ envelope }: { envelope: Envelope }) => settle(envelope);
        const onDead = ({ envelope }: { envelope: Envelope | undefined }) => settle(envelope);
        const timer = setTimeout(() => finish(new Error(`${left} of ${envelopes.length} events not handled within ${timeoutMs} ms`)), timeoutMs);
        function finish(error?: Error) {
          clearTimeout(timer);
          context.bus.off('consumed', onConsumed);
          context.bus.off('dead-lettered', onDead);
          if (error) reject(error);
          else resolve();
        }
        context.bus.on('consumed', onConsumed);
        context.bus.on('dead-lettered', onDead);
      });
      await Promise.all(envelopes.map((envelope) => publisher.publish(envelope)));
      await done;
    },
    token: (sub, role = 'user') => signTestToken(keys, { sub, role }),
    async close() {
      await publisher.close();
      await service.shutdown('test finished');
      await deleteTestTopology(prefix, service.queues);
      await database.drop();
    },
  };
}
