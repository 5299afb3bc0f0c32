import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { METRICS_PATH } from '@hubspoke/kit';
import { signTestToken } from '@hubspoke/kit/testing';
import { tokenFor } from './support/tokens.js';
import { newUserId, registeredEnvelope, startUserHarness, type UserHarness } from './support/user-harness.js';

let h: UserHarness;
let adminToken: string;

beforeAll(async () => {
  h = await startUserHarness('user_api');
  adminToken = await tokenFor(h.keys, newUserId(), 'admin');
});
afterAll(() => h?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const profileRows = async (id: string) => Number((await h.db.query('SELECT count(*) FROM profiles WHERE id = $1', [id])).rows[0].count);

/** A user whose profile exists because their user.registered event was handled. */
async function registeredUser(name = 'Ana') {
  const id = newUserId();
  const email = `${id.slice(0, 8)}@example.com`;
  await h.register({ userId: id, email, name, role: 'user' });
  return { id, email, name, token: await tokenFor(h.keys, id) };
}

describe('authentication', () => {
  test('when no token is sent, then every route answers 401 and nothing is created', async () => {
    const id = newUserId();
    for (const [method, path] of [['get', '/me'], ['patch', '/me'], ['get', `/${id}`], ['delete', `/${id}`], ['get', '/']] as const) {
      const res = await request(h.app)[method](path).set({ 'x-user-id': id, 'x-user-role': 'admin' });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'AUTH.TOKEN_MISSING', requestId: expect.any(String) });
    }
    expect(await profileRows(id)).toBe(0);
  });

  test('when the token is forged, expired or not for a user id, then it is 401', async () => {
    const id = newUserId();
    const valid = await tokenFor(h.keys, id);
    const forged = `${valid.slice(0, -4)}AAAA`;
    const expired = await signTestToken(h.keys, { sub: id, role: 'user', expiresIn: -60 });
    const notUuid = await signTestToken(h.keys, { sub: 'alice', role: 'user' });
    expect((await request(h.app).get('/me').set(bearer(forged))).body.error.code).toBe('AUTH.TOKEN_INVALID');
    expect((await request(h.app).get('/me').set(bearer(expired))).body.error.code).toBe('AUTH.TOKEN_EXPIRED');
    const res = await request(h.app).get('/me').set(bearer(notUuid));
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('AUTH.TOKEN_INVALID');
  });
});

describe('GET /me', () => {
  test('when the user is registered, then it returns the profile from the event', async () => {
    const user = await registeredUser('Ana Lima');
    const res = await request(h.app).get('/me').set(bearer(user.token));
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('private, no-store');
    expect(res.body).toEqual({
      id: user.id, email: user.email, name: 'Ana Lima', bio: null, avatarKey: null, preferences: {},
      createdAt: expect.any(String), updatedAt: expect.any(String),
    });
  });

  test('when it comes before user.registered, then the profile is made from the token and the event completes it', async () => {
    const id = newUserId();
    const token = await tokenFor(h.keys, id);
    const early = await request(h.app).get('/me').set(bearer(token));
    expect(early.status).toBe(200);
    expect(early.body).toMatchObject({ id, email: null, name: null });
    expect(h.logs).toContainEqual(expect.objectContaining({ msg: 'profile created from access token', userId: id, requestId: early.headers['x-request-id'] }));

    await h.register({ userId: id, email: 'Late@Example.com', name: 'Late Comer', role: 'user' });
    const after = await request(h.app).get('/me').set(bearer(token));
    expect(after.body).toMatchObject({ id, email: 'late@example.com', name: 'Late Comer', createdAt: early.body.createdAt });
    expect(await profileRows(id)).toBe(1);
  });

  test('when the token carries email and name, then the early profile uses them', async () => {
    const id = newUserId();
    const token = await tokenFor(h.keys, id, 'user', { email: 'claims@example.com', name: 'From Claims' });
    const res = await request(h.app).get('/me').set(bearer(token));
    expect(res.body).toMatchObject({ id, email: 'claims@example.com', name: 'From Claims' });
  });

  test('when the user set a name before the event arrived, then the event fills only the blanks', async () => {
    const id = newUserId();
    const token = await tokenFor(h.keys, id);
    expect((await request(h.app).patch('/me').set(bearer(token)).send({ name: 'Chosen Name' })).status).toBe(200);
    await h.register({ userId: id, email: 'chosen@example.com', name: 'Registered Name', role: 'user' });
    expect((await request(h.app).get('/me').set(bearer(token))).body).toMatchObject({ name: 'Chosen Name', email: 'chosen@example.com' });
  });

  test('when requests race the event, then there is still exactly one profile', async () => {
    const id = newUserId();
    const token = await tokenFor(h.keys, id);
    const [responses] = await Promise.all([
      Promise.all(Array.from({ length: 5 }, () => request(h.app).get('/me').set(bearer(token)))),
      h.register({ userId: id, email: 'race@example.com', name: 'Racer', role: 'user' }),
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await profileRows(id)).toBe(1);
    expect((await request(h.app).get('/me').set(bearer(token))).body).toMatchObject({ email: 'race@example.com', name: 'Racer' });
  });
});

describe('user.registered', () => {
  test('when the same event is delivered twice, then there is one profile and the second is a duplicate', async () => {
    const id = newUserId();
    const envelope = registeredEnvelope({ userId: id, email: 'twice@example.com', name: 'Twice', role: 'user' });
    expect((await h.register({ userId: id, email: 'twice@example.com' }, envelope)).duplicate).toBe(false);
    expect((await h.register({ userId: id, email: 'twice@example.com' }, envelope)).duplicate).toBe(true);
    expect(await profileRows(id)).toBe(1);
  });

  test('when the registration is published again under a new id, then the profile is unchanged', async () => {
    const user = await registeredUser('First');
    await request(h.app).patch('/me').set(bearer(user.token)).send({ bio: 'hello' });
    const before = (await request(h.app).get('/me').set(bearer(user.token))).body;
    await h.register({ userId: user.id, email: 'other@example.com', name: 'Second', role: 'user' });
    expect((await request(h.app).get('/me').set(bearer(user.token))).body).toEqual(before);
    expect(await profileRows(user.id)).toBe(1);
  });

  test('when the payload is not a user.registered v1 payload, then it is dead-lettered at once and nothing is written', async () => {
    const envelope = registeredEnvelope({ userId: 'not-a-uuid', email: 'x@example.com' });
    const deadLettered = h.bus.waitFor('dead-lettered', (r) => r.envelope?.id === envelope.id);
    await h.probe.publish(envelope);
    expect(await deadLettered).toMatchObject({ attempts: 1, error: expect.stringMatching(/payload is invalid/) });
    expect(Number((await h.db.query('SELECT count(*) FROM processed_messages WHERE message_id = $1', [envelope.id])).rows[0].count)).toBe(0);
  });
});

describe('PATCH /me', () => {
  test('when the changes are valid, then it returns and keeps them and publishes user.updated v1', async () => {
    const user = await registeredUser();
    const published = h.waitForPublished('user.updated', user.id);
    const changes = { name: '  Ana Maria ', bio: 'Line one\nLine two', avatarKey: 'avatars/ana/v1.png', preferences: { theme: 'dark', digest: { weekly: true } } };
    const res = await request(h.app).patch('/me').set({ ...bearer(user.token), 'x-request-id': 'req-patch-1' }).send(changes);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ...changes, name: 'Ana Maria', email: user.email });
    expect((await request(h.app).get('/me').set(bearer(user.token))).body).toEqual(res.body);
    expect(await published).toMatchObject({
      type: 'user.updated', version: 1, source: 'user', correlationId: 'req-patch-1',
      payload: { userId: user.id, changes: { ...changes, name: 'Ana Maria' } },
    });
  });

  test('when bio and avatarKey are null, then they are cleared and the rest stays', async () => {
    const user = await registeredUser('Keeps Name');
    await request(h.app).patch('/me').set(bearer(user.token)).send({ bio: 'x', avatarKey: 'a/b.png' });
    const res = await request(h.app).patch('/me').set(bearer(user.token)).send({ bio: null, avatarKey: null });
    expect(res.body).toMatchObject({ name: 'Keeps Name', bio: null, avatarKey: null });
  });

  test('when the body tries to set role, id or email, then it is 400 naming them and nothing changes', async () => {
    const user = await registeredUser('Mass');
    const before = (await request(h.app).get('/me').set(bearer(user.token))).body;
    const res = await request(h.app).patch('/me').set(bearer(user.token))
      .send({ name: 'Hacker', role: 'admin', id: newUserId(), email: 'evil@example.com', isAdmin: true });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('REQUEST.VALIDATION_FAILED');
    expect(res.body.error.details.problems).toEqual(expect.arrayContaining([
      { field: 'role', problem: 'cannot be changed here' },
      { field: 'id', problem: 'cannot be changed here' },
      { field: 'email', problem: 'cannot be changed here' },
      { field: 'isAdmin', problem: 'is not a field you can set' },
    ]));
    expect(res.body.error.message).toMatch(/role/);
    expect((await request(h.app).get('/me').set(bearer(user.token))).body).toEqual(before);
  });

  test.each([
    ['an empty object', {}, 'body'],
    ['an empty name', { name: '   ' }, 'name'],
    ['a name too long', { name: 'n'.repeat(101) }, 'name'],
    ['a name with a control character', { name: 'a\u0007b' }, 'name'],
    ['a bio too long', { bio: 'b'.repeat(1001) }, 'bio'],
    ['a bio with an escape character', { bio: 'a\u001bb' }, 'bio'],
    ['an avatar key climbing up', { avatarKey: 'avatars/../secrets' }, 'avatarKey'],
    ['an avatar key with a leading slash', { avatarKey: '/etc/passwd' }, 'avatarKey'],
    ['preferences that are not an object', { preferences: ['dark'] }, 'preferences'],
    ['preferences too large', { preferences: { blob: 'x'.repeat(5000) } }, 'preferences'],
    ['a name that is not a string', { name: 42 }, 'name'],
  ])('when the body has %s, then it is 400 naming the field', async (_situation, body, field) => {
    const user = await registeredUser();
    const res = await request(h.app).patch('/me').set(bearer(user.token)).send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('REQUEST.VALIDATION_FAILED');
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toContain(field);
  });

  test('when the body is not JSON, has a NUL or a __proto__ key, then it is 400 before the database', async () => {
    const user = await registeredUser();
    const send = (body: string) => request(h.app).patch('/me').set({ ...bearer(user.token), 'content-type': 'application/json' }).send(body);
    expect((await send('{"name":')).body.error.code).toBe('REQUEST.MALFORMED_JSON');
    expect((await send('{"name":"a\\u0000b"}')).body.error.code).toBe('REQUEST.NUL_CHARACTER');
    expect((await send('{"preferences":{"__proto__":{"admin":true}}}')).body.error.code).toBe('REQUEST.FORBIDDEN_KEY');
    expect((await request(h.app).patch('/me').set(bearer(user.token)).send('name=x')).body.error.details.problems).toEqual([{ field: 'body', problem: 'must be a JSON object' }]);
  });
});

describe('GET /:id', () => {
  test('when users read themselves or an admin reads anyone, then it is 200', async () => {
    const user = await registeredUser();
    expect((await request(h.app).get(`/${user.id}`).set(bearer(user.token))).body).toMatchObject({ id: user.id, email: user.email });
    expect((await request(h.app).get(`/${user.id.toUpperCase()}`).set(bearer(adminToken))).body).toMatchObject({ id: user.id });
  });

  test('when user B reads user A, then it is 404 like a missing user, so ids cannot be probed', async () => {
    const a = await registeredUser('A');
    const b = await registeredUser('B');
    const probe = await request(h.app).get(`/${a.id}`).set(bearer(b.token));
    const missing = await request(h.app).get(`/${newUserId()}`).set(bearer(b.token));
    expect(probe.status).toBe(404);
    expect(probe.body.error.code).toBe('USER.NOT_FOUND');
    expect({ status: missing.status, code: missing.body.error.code, message: missing.body.error.message })
      .toEqual({ status: 404, code: 'USER.NOT_FOUND', message: probe.body.error.message });
    expect((await request(h.app).get(`/${newUserId()}`).set(bearer(adminToken))).status).toBe(404);
  });

  test('when the id is not a UUID, then it is 400 USER.INVALID_ID, never a database error', async () => {
    const user = await registeredUser();
    for (const id of ['123', 'me%27%3B--', 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz', `${user.id}0`]) {
      const res = await request(h.app).get(`/${id}`).set(bearer(adminToken));
      expect(res.status, id).toBe(400);
      expect(res.body.error.code).toBe('USER.INVALID_ID');
    }
  });
});

async function walkAllPages(limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const res: request.Response = await request(h.app).get('/').query({ limit, ...(cursor ? { cursor } : {}) }).set(bearer(adminToken));
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeLessThanOrEqual(limit);
    ids.push(...res.body.items.map((p: { id: string }) => p.id));
    cursor = res.body.nextCursor;
  } while (cursor);
  return ids;
}

describe('GET /', () => {
  test('when a user who is not an admin lists, then it is 403', async () => {
    const user = await registeredUser();
    const res = await request(h.app).get('/').set(bearer(user.token));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('AUTH.FORBIDDEN');
  });

  test('when an admin walks every page, then each live profile appears once, in a stable order', async () => {
    const created = await Promise.all(Array.from({ length: 12 }, (_, i) => registeredUser(`Page ${i}`)));
    const deleted = created.pop()!;
    await request(h.app).delete(`/${deleted.id}`).set(bearer(adminToken)).expect(204);

    const ids = await walkAllPages(5);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(created.map((u) => u.id)));
    expect(ids).not.toContain(deleted.id);
    // Stable: a second walk gives the same sequence, which is (created_at, id) order at full precision.
    expect(await walkAllPages(7)).toEqual(ids);
    const { rows } = await h.db.query<{ id: string }>('SELECT id FROM profiles WHERE deleted_at IS NULL ORDER BY created_at, id');
    expect(ids).toEqual(rows.map((r) => r.id));
  });

  test('when no limit is given the page holds 20, and a larger one is capped at 100', async () => {
    await Promise.all(Array.from({ length: 101 }, async () => request(h.app).get('/me').set(bearer(await tokenFor(h.keys, newUserId())))));
    const first = await request(h.app).get('/').set(bearer(adminToken));
    expect(first.body.items).toHaveLength(20);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const capped = await request(h.app).get('/').query({ limit: 1000 }).set(bearer(adminToken));
    expect(capped.body.items).toHaveLength(100);
  });

  test.each([
    ['limit=0', 'REQUEST.VALIDATION_FAILED'],
    ['limit=-1', 'REQUEST.VALIDATION_FAILED'],
    ['limit=ten', 'REQUEST.VALIDATION_FAILED'],
    ['limit=1&limit=2', 'REQUEST.VALIDATION_FAILED'],
    ['cursor=garbage', 'USER.INVALID_CURSOR'],
    [`cursor=${Buffer.from('1_not-a-uuid').toString('base64url')}`, 'USER.INVALID_CURSOR'],
  ])('when the query is %s, then it is 400 %s', async (query, code) => {
    const res = await request(h.app).get(`/?${query}`).set(bearer(adminToken));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(code);
  });
});

describe('DELETE /:id', () => {
  test('when users delete themselves, then the profile is gone, user.deleted v1 is published, and deleting again is 404', async () => {
    const user = await registeredUser();
    const published = h.waitForPublished('user.deleted', user.id);
    const res = await request(h.app).delete(`/${user.id}`).set({ ...bearer(user.token), 'x-request-id': 'req-delete-1' });
    expect(res.status).toBe(204);
    expect(await published).toMatchObject({ type: 'user.deleted', version: 1, source: 'user', correlationId: 'req-delete-1', payload: { userId: user.id } });

    for (const [method, path, token] of [['get', '/me', user.token], ['patch', '/me', user.token], ['get', `/${user.id}`, adminToken], ['delete', `/${user.id}`, user.token], ['delete', `/${user.id}`, adminToken]] as const) {
      const again = await request(h.app)[method](path).set(bearer(token)).send({ name: 'Back' });
      expect(again.status, `${method} ${path}`).toBe(404);
      expect(again.body.error.code).toBe('USER.NOT_FOUND');
    }
  });

  test('when user.registered arrives after the deletion, then the profile stays deleted', async () => {
    const user = await registeredUser();
    await request(h.app).delete(`/${user.id}`).set(bearer(user.token)).expect(204);
    await h.register({ userId: user.id, email: user.email, name: 'Zombie', role: 'user' });
    expect((await request(h.app).get('/me').set(bearer(user.token))).status).toBe(404);
  });

  test('when users delete themselves before their event arrived, then it works and the event does not revive them', async () => {
    const id = newUserId();
    const token = await tokenFor(h.keys, id);
    await request(h.app).delete(`/${id}`).set(bearer(token)).expect(204);
    await h.register({ userId: id, email: 'early-leaver@example.com', name: 'Early', role: 'user' });
    expect((await request(h.app).get('/me').set(bearer(token))).status).toBe(404);
  });

  test('when user B changes or deletes user A, then it is 404 and A is unchanged', async () => {
    const a = await registeredUser('Victim');
    const b = await registeredUser('Attacker');
    const before = (await request(h.app).get('/me').set(bearer(a.token))).body;
    const del = await request(h.app).delete(`/${a.id}`).set(bearer(b.token));
    expect(del.status).toBe(404);
    expect(del.body.error.code).toBe('USER.NOT_FOUND');
    expect((await request(h.app).patch(`/${a.id}`).set(bearer(b.token)).send({ name: 'Owned' })).status).toBe(404);
    expect((await request(h.app).patch('/me').set({ ...bearer(b.token), 'x-user-id': a.id }).send({ name: 'Owned' })).body.id).toBe(b.id);
    expect((await request(h.app).get('/me').set(bearer(a.token))).body).toEqual(before);
  });

  test('when an admin deletes a user, then it is 204 and the user is gone', async () => {
    const user = await registeredUser();
    const published = h.waitForPublished('user.deleted', user.id);
    await request(h.app).delete(`/${user.id}`).set(bearer(adminToken)).expect(204);
    await published;
    expect((await request(h.app).get('/me').set(bearer(user.token))).status).toBe(404);
  });

  test('when the id is not a UUID, then it is 400 USER.INVALID_ID', async () => {
    const res = await request(h.app).delete('/not-a-uuid').set(bearer(adminToken));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('USER.INVALID_ID');
  });
});

describe('operations', () => {
  test('when everything is up, then /health and /ready are 200 without a token', async () => {
    expect((await request(h.app).get('/health')).status).toBe(200);
    expect((await request(h.app).get('/ready')).body).toEqual({ status: 'ready', degraded: [] });
  });

  test('when routes were called, then /internal/metrics counts them by route template', async () => {
    const user = await registeredUser();
    await request(h.app).get(`/${user.id}`).set(bearer(user.token));
    const text = (await request(h.app).get(METRICS_PATH)).text;
    expect(text).toMatch(/http_requests_total\{method="GET",route="\/:id",status_code="200",service="user"\}/);
    expect(text).not.toContain(user.id);
  });

  test('when a route is unknown, then it is 404 in the error shape', async () => {
    const res = await request(h.app).get(`/${newUserId()}/avatar/x`).set(bearer(adminToken));
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('ROUTE.NOT_FOUND');
  });
});
