import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@hubspoke/kit/testing';
import { startNotificationHarness, type NotificationHarness } from './support/notification-harness.js';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotificationHarness('notification_api');
});
afterAll(() => h?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const notice = { template: 'notice', data: { title: 'Hello', message: 'World' } };

const registeredUser = (role: 'user' | 'admin' = 'user') => h.registerUser({ role });

async function statusOf(token: string, id: string): Promise<string> {
  return (await request(h.app).get(`/${id}`).set(bearer(token))).body.status;
}

describe('authentication', () => {
  test('when no token is sent, then every route answers 401', async () => {
    for (const [method, path] of [['post', '/'], ['get', '/'], ['get', `/${randomUUID()}`], ['post', '/contacts'], ['get', '/contacts']] as const) {
      const res = await request(h.app)[method](path).send({});
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe('AUTH.TOKEN_MISSING');
    }
  });
});

describe('POST /', () => {
  test('when a user sends to their own email, then it is 202 with an id, the email arrives, and GET /:id shows it sent with its attempt', async () => {
    const user = await registeredUser();
    const res = await request(h.app).post('/').set(bearer(user.token)).send({ channel: 'email', ...notice });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.any(String) });
    await eventually(async () => (await statusOf(user.token, res.body.id)) === 'sent');
    const detail = (await request(h.app).get(`/${res.body.id}`).set(bearer(user.token))).body;
    expect(detail).toMatchObject({ id: res.body.id, ownerId: user.id, channel: 'email', recipient: user.email, template: 'notice', status: 'sent' });
    expect(detail.attempts).toEqual([{
      number: 1, provider: 'smtp', outcome: 'sent', startedAt: expect.any(String), finishedAt: expect.any(String), providerAnswer: expect.stringMatching(/^250/), error: null,
    }]);
    expect(h.smtp.messages.find((m) => m.messageId === `<${res.body.id}@notification.hubspoke>`)?.subject).toBe('Hello');
  });

  test('when a plain user names an address that is not theirs, then it is 403 and nothing is queued', async () => {
    const user = await registeredUser();
    const res = await request(h.app).post('/').set(bearer(user.token)).send({ channel: 'email', to: 'victim@example.com', ...notice });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('NOTIFICATION.RECIPIENT_FORBIDDEN');
    expect(Number((await h.db.query('SELECT count(*) FROM notifications WHERE recipient = $1', ['victim@example.com'])).rows[0].count)).toBe(0);
  });

  test('when an admin names any address, then it is queued and sent there', async () => {
    const admin = await registeredUser('admin');
    const res = await request(h.app).post('/').set(bearer(admin.token)).send({ channel: 'email', to: 'Anyone@Example.org', ...notice }).expect(202);
    await eventually(async () => (await statusOf(admin.token, res.body.id)) === 'sent');
    expect(h.smtp.messages.some((m) => m.to.includes('anyone@example.org'))).toBe(true);
  });

  test('when the same idempotency key is sent twice, then both answers carry one id and one email goes out; another body with that key is 409', async () => {
    const user = await registeredUser();
    const body = { channel: 'email', ...notice, idempotencyKey: 'order-42' };
    const first = await request(h.app).post('/').set(bearer(user.token)).send(body).expect(202);
    const second = await request(h.app).post('/').set(bearer(user.token)).send(body).expect(202);
    expect(second.body.id).toBe(first.body.id);
    await eventually(async () => (await statusOf(user.token, first.body.id)) === 'sent');
    expect(h.smtp.messages.filter((m) => m.to.includes(user.email) && m.subject === 'Hello')).toHaveLength(1);
    const other = await request(h.app).post('/').set(bearer(user.token)).send({ ...body, data: { title: 'Other', message: 'x' } });
    expect(other.status).toBe(409);
    expect(other.body.error.code).toBe('NOTIFICATION.IDEMPOTENCY_KEY_REUSED');
  });

  test.each([
    ['an unknown template', { channel: 'email', template: 'nope', data: {} }, 'NOTIFICATION.UNKNOWN_TEMPLATE'],
    ['a missing variable', { channel: 'email', template: 'notice', data: { title: 'only the title' } }, 'NOTIFICATION.TEMPLATE_DATA_MISSING'],
    ['an unknown channel', { channel: 'fax', ...notice }, 'REQUEST.VALIDATION_FAILED'],
    ['an unknown field', { channel: 'email', ...notice, priority: 'high' }, 'REQUEST.VALIDATION_FAILED'],
    ['a malformed address', { channel: 'sms', to: 'not-a-phone', ...notice }, 'NOTIFICATION.INVALID_ADDRESS'],
    ['no contact on the channel', { channel: 'push', ...notice }, 'NOTIFICATION.NO_CONTACT'],
  ])('when the body has %s, then it is 400 %s and nothing is queued', async (_case, body, code) => {
    const user = await registeredUser();
    const res = await request(h.app).post('/').set(bearer(user.token)).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
    expect(Number((await h.db.query(`SELECT count(*) FROM notifications WHERE owner_id = $1 AND template <> 'welcome'`, [user.id])).rows[0].count)).toBe(0);
  });

  test('when a variable is missing, then the 400 names it', async () => {
    const user = await registeredUser();
    const res = await request(h.app).post('/').set(bearer(user.token)).send({ channel: 'email', template: 'notice', data: {} });
    expect(res.body.error.details).toEqual({ missing: ['message', 'title'] });
  });
});

describe('GET /:id and GET /', () => {
  test('when someone else reads a notification, then it is 404 like a missing one; an admin reads it', async () => {
    const owner = await registeredUser();
    const other = await registeredUser();
    const admin = await registeredUser('admin');
    const { body } = await request(h.app).post('/').set(bearer(owner.token)).send({ channel: 'email', ...notice }).expect(202);
    for (const id of [body.id, randomUUID()]) {
      const res = await request(h.app).get(`/${id}`).set(bearer(other.token));
      expect({ status: res.status, code: res.body.error.code }).toEqual({ status: 404, code: 'NOTIFICATION.NOT_FOUND' });
    }
    expect((await request(h.app).get(`/${body.id}`).set(bearer(admin.token))).status).toBe(200);
    expect((await request(h.app).get('/not-a-uuid').set(bearer(owner.token))).body.error.code).toBe('NOTIFICATION.INVALID_ID');
  });

  test('when the owner walks every page of their history, then each of their notifications appears once, in order, and nobody else\'s', async () => {
    const owner = await registeredUser();
    const other = await registeredUser();
    const created: string[] = [(await request(h.app).get('/').set(bearer(owner.token))).body.items[0].id]; // the welcome email
    for (let i = 0; i < 4; i++) created.push((await request(h.app).post('/').set(bearer(owner.token)).send({ channel: 'email', ...notice }).expect(202)).body.id);
    await request(h.app).post('/').set(bearer(other.token)).send({ channel: 'email', ...notice }).expect(202);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(h.app).get('/').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(bearer(owner.token));
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((item: { id: string }) => item.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(created);
    expect((await request(h.app).get('/?cursor=garbage').set(bearer(owner.token))).body.error.code).toBe('NOTIFICATION.INVALID_CURSOR');
  });
});

describe('contacts', () => {
  test('when a user registers a phone and a push token, then they are listed with the account email, sms goes to the latest phone, and one can be removed', async () => {
    const user = await registeredUser();
    const phone = await request(h.app).post('/contacts').set(bearer(user.token)).send({ channel: 'sms', address: '+15550005555' }).expect(201);
    await request(h.app).post('/contacts').set(bearer(user.token)).send({ channel: 'push', address: 'device-token-abcdefghijkl' }).expect(201);
    const again = await request(h.app).post('/contacts').set(bearer(user.token)).send({ channel: 'sms', address: '+15550005555' }).expect(201);
    expect(again.body.id).toBe(phone.body.id);
    const listed = (await request(h.app).get('/contacts').set(bearer(user.token))).body.contacts;
    expect(listed.map((c: { channel: string; source: string }) => `${c.channel}:${c.source}`).sort()).toEqual(['email:account', 'push:user', 'sms:user']);

    const sms = await request(h.app).post('/').set(bearer(user.token)).send({ channel: 'sms', ...notice }).expect(202);
    await eventually(async () => (await statusOf(user.token, sms.body.id)) === 'sent');
    expect((await request(h.app).get(`/${sms.body.id}`).set(bearer(user.token))).body).toMatchObject({ recipient: '+15550005555', attempts: [{ provider: 'log' }] });

    await request(h.app).delete(`/contacts/${phone.body.id}`).set(bearer(user.token)).expect(204);
    const email = listed.find((c: { channel: string }) => c.channel === 'email');
    expect((await request(h.app).delete(`/contacts/${email.id}`).set(bearer(user.token))).status).toBe(404);
    expect((await request(h.app).post('/').set(bearer(user.token)).send({ channel: 'sms', ...notice })).body.error.code).toBe('NOTIFICATION.NO_CONTACT');
  });

  test('when the address does not fit its channel, then it is 400 naming the address field', async () => {
    const user = await registeredUser();
    const res = await request(h.app).post('/contacts').set(bearer(user.token)).send({ channel: 'sms', address: '555-1234' });
    expect(res.status).toBe(400);
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toEqual(['address']);
  });
});

describe('operations', () => {
  test('when everything is up, then /health and /ready are 200 without a token', async () => {
    expect((await request(h.app).get('/health')).status).toBe(200);
    expect((await request(h.app).get('/ready')).body).toEqual({ status: 'ready', degraded: [] });
  });
});
