import type { RequestListener } from 'node:http';
import { randomUUID } from 'node:crypto';
import { NotificationFailedV1, NotificationSentV1, UserRegisteredV1 } from '@hubspoke/contracts';
import {
  connectBus, createEvent, createLogger, createStaticKeySource, createTokenVerifier, startService, type Bus, type Envelope, type Pool, type PublicRoute, type Role,
} from '@hubspoke/kit';
import {
  createTestDatabase, createTestKeys, deleteTestTopology, signTestToken, TEST_AUDIENCE, TEST_ISSUER, testAmqpUrl, testRedisUrl, uniquePrefix, type TestKeys, testRegistryKey,
} from '@hubspoke/kit/testing';
import { loadConfig } from '../../src/config.js';
import { notificationService, type NotificationDomain } from '../../src/service.js';
import { startSmtpCatcher, type CatcherOptions, type SmtpCatcher } from './smtp-catcher.js';

export interface NotificationHarness {
  app: RequestListener;
  /** The run's prefix of queues, exchanges and registry keys: a hub started with it sees this spoke. */
  prefix: string;
  db: Pool;
  domain: NotificationDomain;
  /** The spoke's bus: `consumed` tells when an event was handled. */
  bus: Bus;
  /** A test-only bus on the same events exchange: publishes as other spokes would, and sees what this one publishes. */
  probe: Bus;
  keys: TestKeys;
  /** The SMTP server the spoke sends email to. */
  smtp: SmtpCatcher;
  /** The routes it registers with the hub as public: the hub lets them through without a token. */
  publicRoutes: PublicRoute[];
  /** A user as the auth spoke announces one: user.registered handled (the email is their contact, the welcome email queued); with a token. */
  registerUser: (user?: { email?: string; name?: string; role?: Role }) => Promise<{ id: string; email: string; token: string }>;
  /** Resolves with the first event of `type` published by the spoke whose payload passes `match`. */
  waitForPublished: (type: string, match: (payload: Record<string, unknown>) => boolean) => Promise<Envelope>;
  metrics: () => Promise<string>;
  close: () => Promise<void>;
}

/** The variables every test sets: a worker that polls often and retries fast. */
export const FAST_SEND_ENV = {
  SEND_POLL_INTERVAL_MS: '25', SEND_RETRY_BASE_MS: '100', SEND_RETRY_MAX_MS: '1000', SEND_MAX_ATTEMPTS: '3',
};

/**
 * The notification spoke started as main.ts starts it (the kit's startService) on real Postgres (a fresh
 * database), RabbitMQ and Redis (a unique prefix) and a real SMTP server of the test's own, trusting tokens
 * signed with the test's keys; every response is checked against its schema (VALIDATE_RESPONSES).
 */
export async function startNotificationHarness(label: string, { env = {}, smtp: smtpOptions }: { env?: Record<string, string>; smtp?: CatcherOptions } = {}): Promise<NotificationHarness> {
  const database = await createTestDatabase(label);
  const smtp = await startSmtpCatcher(smtpOptions);
  const prefix = uniquePrefix('notification');
  const config = loadConfig({
    DATABASE_URL: database.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, REDIS_URL: testRedisUrl(), REGISTRY_KEY_PREFIX: `${prefix}:`,
    REGISTRY_KEY: testRegistryKey('notification'), AUTH_JWKS_URL: 'http://127.0.0.1:9/unused', AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE,
    DRAIN_DELAY_MS: '0', VALIDATE_RESPONSES: 'true', SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), ...FAST_SEND_ENV, ...env,
  });
  const keys = await createTestKeys();
  const definition = notificationService(config);
  const service = await startService(definition, {
    logger: createLogger({ service: 'notification', level: 'silent' }), port: 0, exit: () => undefined, relay: { pollIntervalMs: 100 },
    consumers: { retryDelaysMs: [200] },
    verifier: createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE }),
  });
  const { app, context: { db, bus, domain, metrics } } = service;

  const probe = await connectBus({ url: testAmqpUrl(), service: 'probe', prefix, logger: createLogger({ service: 'probe', level: 'silent' }) });
  const probed = await probe.consume({
    name: 'notification-events', bindings: [NotificationSentV1.routingKey, NotificationFailedV1.routingKey], db, handler: async () => undefined, retryDelaysMs: [200],
  });

  return {
    app, prefix, db, bus, probe, keys, smtp, domain, publicRoutes: definition.registration?.publicRoutes ?? [],
    async registerUser({ email, name = 'Someone', role = 'user' } = {}) {
      const id = randomUUID();
      const address = email ?? `${id.slice(0, 8)}@example.com`;
      const envelope = createEvent(UserRegisteredV1, 'auth', { userId: id, email: address, name, role });
      const consumed = bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
      await probe.publish(envelope);
      await consumed;
      return { id, email: address, token: await signTestToken(keys, { sub: id, role }) };
    },
    async waitForPublished(type, match) {
      const { envelope } = await probe.waitFor('consumed', (c) => c.envelope.type === type && match(c.envelope.payload as Record<string, unknown>));
      return envelope;
    },
    metrics: () => metrics.registry.metrics(),
    async close() {
      await probe.close();
      await service.shutdown('test finished');
      await deleteTestTopology(prefix, [...service.queues, probed.queues]);
      await smtp.close();
      await database.drop();
    },
  };
}
