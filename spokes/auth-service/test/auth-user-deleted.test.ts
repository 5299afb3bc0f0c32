import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { createEnvelope, runWithContext } from '@hubspoke/kit';
import { publishRaw, withAmqpChannel as withChannel } from '@hubspoke/kit/testing';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;

beforeAll(async () => {
  fx = await authFixture('auth_user_deleted');
});
afterAll(async () => {
  await fx?.cleanup();
});

const userDeleted = (userId: string) =>
  runWithContext({ requestId: `req-delete-${userId.slice(0, 8)}` }, () => createEnvelope({ source: 'user', type: 'user.deleted', version: 1, payload: { userId } }));

describe('consuming user.deleted v1', () => {
  test('when a user is deleted, then their credentials stop working, every session ends, and the email can register again', async () => {
    const registered = await fx.register();
    const login = await request(fx.app).post('/login').send({ email: registered.user.email, password: PASSWORD });
    expect(login.status).toBe(200);

    const envelope = userDeleted(registered.user.id);
    const consumed = fx.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
    await fx.bus.publish(envelope);
    expect(await consumed).toMatchObject({ queue: fx.queues.queue, duplicate: false });

    const again = await request(fx.app).post('/login').send({ email: registered.user.email, password: PASSWORD });
    expect([again.status, again.body.error.code]).toEqual([401, 'AUTH.INVALID_CREDENTIALS']);
    for (const refreshToken of [registered.refreshToken, login.body.refreshToken]) {
      const refreshed = await request(fx.app).post('/refresh').send({ refreshToken });
      expect([refreshed.status, refreshed.body.error.code]).toEqual([401, 'AUTH.REFRESH_INVALID']);
    }
    expect(fx.lines).toContainEqual(expect.objectContaining({
      msg: 'credentials closed after user.deleted', userId: registered.user.id, disabled: true, familiesRevoked: 2, requestId: envelope.correlationId,
    }));

    const reRegistered = await fx.register({ email: registered.user.email });
    expect(reRegistered.user.id).not.toBe(registered.user.id);
  });

  test('when the same user.deleted is delivered twice, then it is processed once', async () => {
    const { user } = await fx.register();
    const envelope = userDeleted(user.id);
    const first = fx.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id && !c.duplicate);
    const second = fx.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id && c.duplicate);
    await fx.bus.publish(envelope);
    await first;
    await fx.bus.publish(envelope);
    expect(await second).toMatchObject({ duplicate: true });
    expect(fx.lines.filter((l) => l.msg === 'credentials closed after user.deleted' && l.userId === user.id)).toHaveLength(1);
    const { rows } = await fx.db.query('SELECT count(*)::int AS n FROM processed_messages WHERE message_id = $1', [envelope.id]);
    expect(rows[0].n).toBe(1);
  });

  test('when a poison message arrives, then it is dead-lettered with its error while later messages flow', async () => {
    const { user } = await fx.register();
    const poisoned = fx.bus.waitFor('dead-lettered', (d) => d.envelope === undefined && d.queue === fx.queues.queue);
    await publishRaw(fx.bus.exchange, 'user.deleted.v1', Buffer.from('{"this is": not json'));
    const good = userDeleted(user.id);
    const consumed = fx.bus.waitFor('consumed', (c) => c.envelope.id === good.id);
    await fx.bus.publish(good);

    expect(await poisoned).toMatchObject({ attempts: 1, error: expect.stringContaining('InvalidEnvelopeError') });
    await consumed;
    expect((await request(fx.app).post('/login').send({ email: user.email, password: PASSWORD })).status).toBe(401);
    const dead = await withChannel(async (channel) => {
      const message = await channel.get(fx.queues.deadLetter);
      if (message) channel.ack(message);
      return message;
    });
    expect(dead && dead.content.toString()).toBe('{"this is": not json');
    expect(dead && dead.properties.headers?.['x-last-error']).toMatch(/not acceptable JSON/);
  });

  test('when a user.deleted payload has no valid userId, then it is dead-lettered at once and changes nothing', async () => {
    const { user } = await fx.register();
    const bad = createEnvelope({ source: 'user', type: 'user.deleted', version: 1, payload: { userId: 'not-a-uuid' } });
    const dead = fx.bus.waitFor('dead-lettered', (d) => d.envelope?.id === bad.id, 15_000);
    await fx.bus.publish(bad);
    expect(await dead).toMatchObject({ attempts: 1, error: expect.stringContaining('userId') });
    expect((await request(fx.app).post('/login').send({ email: user.email, password: PASSWORD })).status).toBe(200);
  });
});
