import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NotificationFailedV1, NotificationSentV1, UserRegisteredV1 } from '@hubspoke/contracts';
import { connectBus, createEvent, createLogger, createPool, METRICS_PATH, type Bus, type Envelope, type Pool } from '@hubspoke/kit';
import {
  createTestDatabase, deleteTestTopology, eventually, freePort, spawnService, TEST_AUDIENCE, TEST_ISSUER, testAmqpUrl, testRedisUrl, uniquePrefix,
  type ServiceProcess, type TestDatabase, testRegistryKey
} from '@hubspoke/kit/testing';
import { startSmtpCatcher, type SmtpCatcher } from './support/smtp-catcher.js';

const ENTRY = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const logger = createLogger({ service: 'test', level: 'silent' });
const prefix = uniquePrefix('notification');
// Provider calls are bounded by 2 × 200 ms (connect, greeting) + 1 s (socket), webhooks by 1 s: the lease must outlast them.
const LEASE_MS = 2000;

let database: TestDatabase;
let pool: Pool;
let smtp: SmtpCatcher;
let probe: Bus;
let port: number;
let spoke: ServiceProcess | undefined;
const published: Envelope[] = [];
// The SMTP server holds its reply to the first message until the test lets go: the spoke is then inside the provider call.
let release: () => void = () => undefined;
const held = new Promise<void>((resolve) => (release = resolve));

function startSpoke(): ServiceProcess {
  return spawnService(ENTRY, {
    PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATABASE_URL: database.url, REDIS_URL: testRedisUrl(),
    AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, REGISTRY_KEY: testRegistryKey('notification'), REGISTRY_KEY_PREFIX: `${prefix}:`,
    AUTH_JWKS_URL: 'http://127.0.0.1:9/unused', AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE, DRAIN_DELAY_MS: '0', LOG_LEVEL: 'info',
    SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), SMTP_CONNECTION_TIMEOUT_MS: '200', SMTP_SOCKET_TIMEOUT_MS: '1000',
    WEBHOOK_TIMEOUT_MS: '1000', SEND_POLL_INTERVAL_MS: '50', SEND_LEASE_MS: String(LEASE_MS),
  });
}

async function ready(process: ServiceProcess): Promise<void> {
  await Promise.race([
    eventually(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).status === 200, 30_000, 100),
    process.exited.then((code) => Promise.reject(new Error(`the spoke exited with ${code} while starting`))),
  ]);
}

beforeAll(async () => {
  database = await createTestDatabase('notification_crash');
  pool = createPool({ connectionString: database.url, applicationName: 'notification-crash-test' }, logger);
  let first = true;
  smtp = await startSmtpCatcher({
    beforeReply: async () => {
      if (!first) return;
      first = false;
      await held;
    },
  });
  port = await freePort();
  probe = await connectBus({ url: testAmqpUrl(), service: 'probe', prefix, logger });
  await probe.consume({
    name: 'notification-events', bindings: [NotificationSentV1.routingKey, NotificationFailedV1.routingKey], db: pool,
    handler: async (envelope) => void published.push(envelope),
  });
});

afterAll(async () => {
  release();
  if (spoke?.child.exitCode === null) spoke.child.kill('SIGKILL');
  await probe?.close();
  await deleteTestTopology(prefix, [`${prefix}.notification.user-registered`, `${prefix}.notification.user-deleted`, `${prefix}.probe.notification-events`]);
  await smtp?.close();
  await pool?.end();
  await database?.drop();
});

async function register(userId: string): Promise<void> {
  await probe.publish(createEvent(UserRegisteredV1, 'auth', { userId, email: `${userId.slice(0, 8)}@example.com`, name: 'Crash', role: 'user' }));
}

describe('a spoke killed during a provider call', () => {
  test('when it is SIGKILLed after the SMTP server took the message but before the outcome was recorded, then after a restart the email is not sent again and the notification fails as interrupted', async () => {
    spoke = startSpoke();
    await ready(spoke);
    const userId = randomUUID();
    await register(userId);
    await smtp.waitForCount(1);
    // The send intent is on disk: the attempt is pending while the provider holds the message.
    const intent = await pool.query(`SELECT n.status, a.outcome FROM notifications n JOIN send_attempts a ON a.notification_id = n.id WHERE n.owner_id = $1`, [userId]);
    expect(intent.rows).toEqual([{ status: 'sending', outcome: 'pending' }]);

    spoke.child.kill('SIGKILL');
    await spoke.exited;
    release();

    spoke = startSpoke();
    await ready(spoke);
    const failed = await eventually(() => published.find((e) => e.type === 'notification.failed' && (e.payload as { ownerId: string }).ownerId === userId), LEASE_MS + 10_000);
    expect(failed.payload).toMatchObject({ reason: 'interrupted', attempts: 1 });
    const after = await pool.query(`SELECT n.status, a.outcome FROM notifications n JOIN send_attempts a ON a.notification_id = n.id WHERE n.owner_id = $1`, [userId]);
    expect(after.rows).toEqual([{ status: 'failed', outcome: 'interrupted' }]);

    // The restarted spoke keeps sending: the next registration is delivered, and still only one copy of the first exists.
    const next = randomUUID();
    await register(next);
    await eventually(() => published.some((e) => e.type === 'notification.sent' && (e.payload as { ownerId: string }).ownerId === next), 15_000);
    expect(smtp.messages.filter((m) => m.to.includes(`${userId.slice(0, 8)}@example.com`))).toHaveLength(1);

    // The window a crash can fall into: intent commit → outcome commit, measured on this send.
    const metrics = await (await fetch(`http://127.0.0.1:${port}${METRICS_PATH}`)).text();
    const sum = Number(/^notification_send_unrecorded_seconds_sum\{[^}]*channel="email"[^}]*outcome="sent"[^}]*\} (\S+)/m.exec(metrics)?.[1]);
    const count = Number(/^notification_send_unrecorded_seconds_count\{[^}]*channel="email"[^}]*outcome="sent"[^}]*\} (\S+)/m.exec(metrics)?.[1]);
    expect(count).toBe(1);
    expect(sum * 1000).toBeLessThan(LEASE_MS);
  });
});
