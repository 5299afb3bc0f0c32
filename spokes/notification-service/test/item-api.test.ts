import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { UserDeletedV1 } from '@hubspoke/contracts';
import { createEnvelope, createEvent } from '@hubspoke/kit';
import { signTestToken } from '@hubspoke/kit/testing';
import { startNotificationHarness, type NotificationHarness } from './support/notification-harness.js';

let h: NotificationHarness;

beforeAll(async () => {
  h = await startNotificationHarness('notification_api');
});
afterAll(() => h?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A user of the auth spoke: an id and an access token signed with the keys the spoke trusts. */
async function newUser() {
  const id = randomUUID();
  return { id, token: await signTestToken(h.keys, { sub: id, role: 'user' }) };
}

async function createItem(token: string, title: string): Promise<{ id: string; ownerId: string; title: string }> {
  const res = await request(h.app).post('/').set(bearer(token)).send({ title });
  expect(res.status).toBe(201);
  return res.body;
}

describe('authentication', () => {
  test('when no token is sent, then every route answers 401 and nothing is created', async () => {
    for (const [method, path] of [['post', '/'], ['get', '/'], ['get', `/${randomUUID()}`]] as const) {
      const res = await request(h.app)[method](path).send({ title: 'anonymous' });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe('AUTH.TOKEN_MISSING');
    }
    expect(Number((await h.db.query('SELECT count(*) FROM items')).rows[0].count)).toBe(0);
  });

  test('when the token is expired, then it is 401', async () => {
    const expired = await signTestToken(h.keys, { sub: randomUUID(), role: 'user', expiresIn: -60 });
    expect((await request(h.app).get('/').set(bearer(expired))).body.error.code).toBe('AUTH.TOKEN_EXPIRED');
  });
});

describe('POST /', () => {
  test('when the title is valid, then it is 201 with the item and notification.item_created v1 is published', async () => {
    const user = await newUser();
    const published = h.waitForPublished('notification.item_created', (payload) => payload.ownerId === user.id);
    const res = await request(h.app).post('/').set({ ...bearer(user.token), 'x-request-id': 'req-create-1' }).send({ title: '  First  ' });
    expect(res.status).toBe(201);
    expect(res.headers['cache-control']).toBe('private, no-store');
    expect(res.body).toEqual({ id: expect.any(String), ownerId: user.id, title: 'First', createdAt: expect.any(String) });
    expect(await published).toMatchObject({
      type: 'notification.item_created', version: 1, source: 'notification', correlationId: 'req-create-1',
      payload: { itemId: res.body.id, ownerId: user.id, title: 'First' },
    });
  });

  test.each([
    ['no title', {}, 'title'],
    ['an empty title', { title: '   ' }, 'title'],
    ['a title too long', { title: 't'.repeat(201) }, 'title'],
    ['a field that is not settable', { title: 'ok', ownerId: 'someone-else' }, 'ownerId'],
  ])('when the body has %s, then it is 400 naming the field', async (_situation, body, field) => {
    const user = await newUser();
    const res = await request(h.app).post('/').set(bearer(user.token)).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('REQUEST.VALIDATION_FAILED');
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(field);
  });
});

describe('GET /:id', () => {
  test('when the owner reads the item, then it is 200', async () => {
    const user = await newUser();
    const item = await createItem(user.token, 'Mine');
    expect((await request(h.app).get(`/${item.id}`).set(bearer(user.token))).body).toMatchObject({ id: item.id, title: 'Mine' });
  });

  test('when someone else reads it, then it is 404 like a missing item, so ids cannot be probed', async () => {
    const owner = await newUser();
    const other = await newUser();
    const item = await createItem(owner.token, 'Private');
    const probe = await request(h.app).get(`/${item.id}`).set(bearer(other.token));
    const missing = await request(h.app).get(`/${randomUUID()}`).set(bearer(other.token));
    expect(probe.status).toBe(404);
    expect(probe.body.error.code).toBe('NOTIFICATION.ITEM_NOT_FOUND');
    expect({ status: missing.status, code: missing.body.error.code }).toEqual({ status: 404, code: 'NOTIFICATION.ITEM_NOT_FOUND' });
  });

  test('when the id is not a UUID, then it is 400 NOTIFICATION.INVALID_ID', async () => {
    const user = await newUser();
    const res = await request(h.app).get('/not-a-uuid').set(bearer(user.token));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('NOTIFICATION.INVALID_ID');
  });
});

describe('GET /', () => {
  test('when the owner walks every page, then each of their items appears once, in order, and nobody else\'s', async () => {
    const owner = await newUser();
    const other = await newUser();
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await createItem(owner.token, `Item ${i}`)).id);
    await createItem(other.token, 'Not yours');

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await request(h.app).get('/').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set(bearer(owner.token));
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((item: { id: string }) => item.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(created);
  });

  test.each([['limit=0', 'REQUEST.VALIDATION_FAILED'], ['cursor=garbage', 'NOTIFICATION.INVALID_CURSOR']])('when the query is %s, then it is 400 %s', async (query, code) => {
    const user = await newUser();
    const res = await request(h.app).get(`/?${query}`).set(bearer(user.token));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
  });
});

describe('user.deleted', () => {
  test('when user.deleted v1 arrives, then that user\'s items are gone and others\' stay', async () => {
    const leaving = await newUser();
    const staying = await newUser();
    const gone = await createItem(leaving.token, 'Bye');
    const kept = await createItem(staying.token, 'Still here');
    const envelope = createEvent(UserDeletedV1, 'user', { userId: leaving.id });
    const consumed = h.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
    await h.probe.publish(envelope);
    await consumed;
    expect((await request(h.app).get(`/${gone.id}`).set(bearer(leaving.token))).status).toBe(404);
    expect((await request(h.app).get(`/${kept.id}`).set(bearer(staying.token))).status).toBe(200);
  });

  test('when the payload is not a user.deleted v1 payload, then it is dead-lettered at once', async () => {
    // Built by hand: createEvent refuses a payload its contract does not match, as a real producer would.
    const envelope = createEnvelope({ source: 'user', type: UserDeletedV1.type, version: UserDeletedV1.version, payload: { id: 'no userId here' } });
    const deadLettered = h.bus.waitFor('dead-lettered', (r) => r.envelope?.id === envelope.id);
    await h.probe.publish(envelope);
    expect(await deadLettered).toMatchObject({ attempts: 1, error: expect.stringMatching(/payload is invalid/) });
  });
});

describe('operations', () => {
  test('when everything is up, then /health and /ready are 200 without a token', async () => {
    expect((await request(h.app).get('/health')).status).toBe(200);
    expect((await request(h.app).get('/ready')).body).toEqual({ status: 'ready', degraded: [] });
  });
});
