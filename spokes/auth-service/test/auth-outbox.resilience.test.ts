import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { eventually, startFaultProxy, testAmqpUrl, type FaultProxy } from '@hubspoke/kit/testing';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

let proxy: FaultProxy;
let fx: AuthFixture;

beforeAll(async () => {
  const broker = new URL(testAmqpUrl());
  proxy = await startFaultProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  const credentials = broker.username ? `${decodeURIComponent(broker.username)}:${decodeURIComponent(broker.password)}` : undefined;
  fx = await authFixture('auth_outbox', { amqpUrl: proxy.url('amqp', credentials) });
  // A transaction that fails at COMMIT, after the outbox row was written: a registration named this rolls back whole.
  await fx.db.query(`
    CREATE FUNCTION fail_on_rollback_name() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.payload->>'name' = 'Rollback Me' THEN RAISE EXCEPTION 'forced rollback'; END IF; RETURN NEW; END $$;
    CREATE CONSTRAINT TRIGGER outbox_forced_rollback AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION fail_on_rollback_name();`);
});
afterAll(async () => {
  proxy?.restore();
  await fx?.cleanup();
  await proxy?.close();
});

const registeredEvents = (email: string) => fx.events.filter((e) => e.type === 'user.registered' && (e.payload as { email: string }).email === email);

describe('the outbox while RabbitMQ is unreachable', () => {
  test('when a user registers during a broker outage, then registration succeeds, /ready is degraded, and user.registered arrives exactly once after the broker returns', async () => {
    await eventually(() => fx.bus.isConnected());
    proxy.cut();
    await eventually(() => !fx.bus.isConnected(), 10_000);
    expect((await request(fx.app).get('/ready')).body).toEqual({ status: 'degraded', degraded: ['rabbitmq'] });

    const email = fx.uniqueEmail('outage');
    const registered = await request(fx.app).post('/register').send({ email, password: PASSWORD, name: 'Offline' });
    expect(registered.status).toBe(201);
    expect((await request(fx.app).post('/login').send({ email, password: PASSWORD })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(registeredEvents(email)).toHaveLength(0);
    // Both events and the verification email's command wait in the outbox.
    const { rows } = await fx.db.query(`SELECT type FROM outbox WHERE sent_at IS NULL AND payload->>'userId' = $1 ORDER BY type`, [registered.body.user.id]);
    expect(rows.map((r) => r.type)).toEqual(['notification.send_account_email', 'user.logged_in', 'user.registered']);

    proxy.restore();
    await eventually(() => registeredEvents(email).length === 1, 20_000);
    await eventually(() => fx.events.some((e) => e.type === 'user.logged_in' && (e.payload as { userId: string }).userId === registered.body.user.id), 10_000);
    await fx.eventsSettled();
    expect(registeredEvents(email)).toHaveLength(1);
    expect(registeredEvents(email)[0]!.payload).toEqual({ userId: registered.body.user.id, email, name: 'Offline', role: 'user' });
    expect((await request(fx.app).get('/ready')).body).toEqual({ status: 'ready', degraded: [] });
  });

  test('when a registration fails validation, conflicts or rolls back, then it publishes nothing and stores nothing', async () => {
    const email = fx.uniqueEmail('nothing');
    expect((await request(fx.app).post('/register').send({ email, password: 'short', name: 'X' })).status).toBe(400);
    const rolledBack = await request(fx.app).post('/register').send({ email, password: PASSWORD, name: 'Rollback Me' });
    expect(rolledBack.status).toBe(500);
    expect(rolledBack.body.error).toMatchObject({ code: 'INTERNAL', message: 'Internal error' });
    expect((await request(fx.app).post('/login').send({ email, password: PASSWORD })).status).toBe(401);

    const { user } = await fx.register();
    expect((await request(fx.app).post('/register').send({ email: user.email, password: PASSWORD, name: 'Twice' })).status).toBe(409);

    await fx.eventsSettled();
    expect(registeredEvents(email)).toHaveLength(0);
    expect(registeredEvents(user.email)).toHaveLength(1);
    const { rows } = await fx.db.query(`SELECT count(*)::int AS n FROM outbox WHERE payload->>'email' = $1`, [email]);
    expect(rows[0].n).toBe(0);
  });
});
