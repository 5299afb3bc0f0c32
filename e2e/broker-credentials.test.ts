import { setTimeout as delay } from 'node:timers/promises';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NotificationSentV1, SendAccountEmailV1, UserDeletedV1 } from '@hubspoke/contracts';
import {
  connectBus, createEvent, createLogger, createPool, migrate, replayDeadLetters, MESSAGING_MIGRATIONS_DIR, type Bus, type Pool,
} from '@hubspoke/kit';
import { createTestDatabase, eventually, startPrivateRabbitMq, type PrivateRabbitMq, type TestDatabase } from '@hubspoke/kit/testing';
import { BROKER_DEFINITIONS } from '../scripts/credentials/credential-templates.js';
import { passwordEnv, renderTemplate, serviceCredentials } from './support/credentials.js';

const logger = createLogger({ service: 'broker-credentials-test', level: 'silent' });
const services = serviceCredentials();
let broker: PrivateRabbitMq;
let database: TestDatabase;
let db: Pool;
const connections: ChannelModel[] = [];
const buses: Bus[] = [];

const urlOf = (service: string) => `amqp://${service}:${encodeURIComponent(services.find((s) => s.name === service)!.rabbitmqPassword)}@127.0.0.1:${broker.port}`;

async function connectAs(service: string): Promise<ChannelModel> {
  const connection = await amqp.connect(urlOf(service));
  connection.on('error', () => undefined);
  connections.push(connection);
  return connection;
}

/** Runs `operation` on a fresh confirm channel; resolves with the broker's refusal text, or 'ok'. */
async function attempt(service: string, operation: (channel: ConfirmChannel) => Promise<unknown>): Promise<string> {
  const channel = await (await connectAs(service)).createConfirmChannel();
  const closed = new Promise<string>((resolve) => channel.on('error', (error: Error) => resolve(error.message)));
  try {
    await Promise.race([operation(channel), closed.then((reason) => Promise.reject(new Error(reason)))]);
    await channel.close();
    return 'ok';
  } catch (error) {
    // A refusal closes the channel: its reason, rather than the pending operation's bare rejection.
    return Promise.race([closed, delay(1_000).then(() => String((error as Error)?.message ?? error))]);
  }
}

const publish = (exchange: string, routingKey: string) => (channel: ConfirmChannel) => new Promise<void>((resolve, reject) => {
  channel.publish(exchange, routingKey, Buffer.from('{}'), { persistent: true }, (error) => (error ? reject(new Error('nacked')) : resolve()));
});

beforeAll(async () => {
  [broker, database] = await Promise.all([startPrivateRabbitMq(), createTestDatabase('broker_credentials')]);
  db = createPool({ connectionString: database.url, applicationName: 'broker-credentials' }, logger);
  await migrate(db, MESSAGING_MIGRATIONS_DIR, logger);
  // The project's definitions, rendered by the rabbitmq container's own entrypoint step, imported into a real broker.
  const rendered = renderTemplate('json', BROKER_DEFINITIONS, { ...passwordEnv(services, 'RABBITMQ'), RABBITMQ_USER: 'ops', RABBITMQ_PASSWORD: 'ops-password' });
  try {
    await broker.ctl('import_definitions', rendered.path);
  } finally {
    rendered.remove();
  }
  // The import finishes in the background: wait for the last user to log in.
  await eventually(async () => (await amqp.connect(urlOf(services.at(-1)!.name)).then((c) => c.close()).then(() => true, () => false)), 20_000);
}, 90_000);

afterAll(async () => {
  for (const bus of buses) await bus.close();
  for (const connection of connections) await connection.close().catch(() => undefined);
  await db?.end();
  await database?.drop();
  await broker?.remove();
}, 30_000);

describe('the broker definitions (data-config/rabbitmq)', () => {
  test('when a spoke that does not produce user.deleted publishes it, then the broker refuses; the user spoke, its producer, may', async () => {
    expect(await attempt('notification', publish('events', UserDeletedV1.routingKey))).toMatch(/ACCESS_REFUSED - access to topic 'user\.deleted\.v1' in exchange 'events'/);
    expect(await attempt('auth', publish('events', UserDeletedV1.routingKey))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt('user', publish('events', UserDeletedV1.routingKey))).toBe('ok');
    expect(await attempt('notification', publish('events', NotificationSentV1.routingKey))).toBe('ok');
  });

  test('when a spoke publishes through the default exchange, to tasks, or touches the shared exchanges, then the broker refuses', async () => {
    // The default exchange reaches any queue by name: a forged user.deleted straight into auth's queue.
    expect(await attempt('notification', publish('', 'auth.user-deleted'))).toMatch(/ACCESS_REFUSED.*amq\.default/);
    expect(await attempt('notification', publish('tasks', 'notification.send.v1'))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt('notification', (channel) => channel.deleteExchange('events'))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt('notification', (channel) => channel.assertExchange('events', 'topic', { durable: true }))).toMatch(/ACCESS_REFUSED/);
  });

  test('when the auth spoke sends its account-email command on tasks, then the broker lets it, and only that routing key', async () => {
    expect(await attempt('auth', publish('tasks', SendAccountEmailV1.routingKey))).toBe('ok');
    expect(await attempt('auth', publish('tasks', 'notification.send.v1'))).toMatch(/ACCESS_REFUSED - access to topic 'notification\.send\.v1' in exchange 'tasks'/);
    expect(await attempt('notification', publish('tasks', SendAccountEmailV1.routingKey))).toMatch(/ACCESS_REFUSED/);
  });

  test('when a service consumes or declares another service\'s queue, then the broker refuses', async () => {
    const auth = await connectBus({ url: urlOf('auth'), service: 'auth', logger });
    buses.push(auth);
    await auth.consume({ name: 'user-deleted', bindings: [UserDeletedV1.routingKey], db, handler: async () => undefined });
    await eventually(() => auth.health().consumers[0]?.running);
    expect(await attempt('notification', (channel) => channel.consume('auth.user-deleted', () => undefined))).toMatch(/ACCESS_REFUSED.*auth\.user-deleted/);
    expect(await attempt('notification', (channel) => channel.get('auth.user-deleted.dlq'))).toMatch(/ACCESS_REFUSED/);
    expect(await attempt('notification', (channel) => channel.assertQueue('auth.stolen', { durable: true }))).toMatch(/ACCESS_REFUSED/);
  });

  test('when a spoke runs the kit\'s bus as its own user, then it consumes, retries and dead-letters through its requeue exchange, and the hub replays the dead letter', async () => {
    const notification = await connectBus({ url: urlOf('notification'), service: 'notification', logger });
    buses.push(notification);
    let calls = 0;
    const { queues } = await notification.consume({
      name: 'user-deleted', bindings: [UserDeletedV1.routingKey], db, retryDelaysMs: [50], maxAttempts: 2,
      handler: async () => {
        calls += 1;
        throw new Error('handler fails');
      },
    });
    await eventually(() => notification.health().consumers[0]?.running);
    const user = await connectBus({ url: urlOf('user'), service: 'user', logger });
    buses.push(user);
    const event = createEvent(UserDeletedV1, 'user', { userId: '0b6f2c1e-8d4a-4c55-9d7e-2f1a3b4c5d6e' });
    const retried = notification.waitFor('retried', (r) => r.envelope.id === event.id, 10_000);
    const deadLettered = notification.waitFor('dead-lettered', (d) => d.envelope?.id === event.id, 10_000);
    await user.publish(event);
    await retried;
    await deadLettered;
    expect(calls).toBe(2);

    // The hub's user reads any dead-letter queue and republishes where the message was first published.
    const report = await replayDeadLetters({ amqpUrl: urlOf('hub'), queue: queues.deadLetter, limit: 10 });
    expect(report).toMatchObject({ replayed: 1, failed: [] });
    await eventually(() => calls === 3 || undefined);
  }, 30_000);
});
