import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, uniquePrefix } from '@hubspoke/kit/testing';
import { apiClient, startPlatform, type ApiReply, type Platform } from '../../../e2e/support/platform.js';

// The whole path a client takes: hub → auth spoke and user spoke, each its own process started from its main.ts.
const prefix = uniquePrefix('journey');
const PASSWORD = 'correct horse battery staple';
const ADMIN = { email: `admin-${prefix}@example.com`, password: 'admin passphrase 0123' };

let platform: Platform;
let hub: string;

type Call = ApiReply;
const api = apiClient(() => hub);

async function register(name: string) {
  const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
  const res = await api('POST', '/auth/register', { body: { email, password: PASSWORD, name } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const { user, accessToken } = res.body as { user: { id: string }; accessToken: string };
  return { id: user.id, email, name, token: accessToken };
}

beforeAll(async () => {
  platform = await startPlatform({ admin: ADMIN });
  hub = platform.url;
}, 90_000);

afterAll(async () => {
  await platform?.stop();
}, 30_000);

describe('a user journey through the hub', () => {
  test('when a user registers, reads and updates their profile and deletes it, then login is refused and every token the user held is revoked', async () => {
    const ana = await register('Ana');

    // Right after register the event may not have arrived: /me is never a 404 for a registered user.
    const first = await api('GET', '/users/me', { token: ana.token });
    expect(first.status).toBe(200);
    expect(first.body.id).toBe(ana.id);
    const me = await eventually(async () => {
      const res = await api('GET', '/users/me', { token: ana.token });
      return res.body.email === ana.email ? res : undefined;
    }, 15_000, 100);
    expect(me.body).toMatchObject({ id: ana.id, email: ana.email, name: 'Ana' });

    const updated = await api('PATCH', '/users/me', { token: ana.token, body: { name: 'Ana Maria', bio: 'Hello', preferences: { theme: 'dark' } } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'Ana Maria', bio: 'Hello', preferences: { theme: 'dark' } });
    const escalate = await api('PATCH', '/users/me', { token: ana.token, body: { role: 'admin' } });
    expect([escalate.status, escalate.body.error?.code]).toEqual([400, 'REQUEST.VALIDATION_FAILED']);
    expect((await api('GET', `/users/${ana.id}`, { token: ana.token })).body).toMatchObject({ name: 'Ana Maria' });

    const deleted = await api('DELETE', `/users/${ana.id}`, { token: ana.token });
    expect(deleted.status).toBe(204);
    await eventually(() => platform.service('auth').logs.some((l) => l.msg === 'credentials closed after user.deleted' && l.userId === ana.id), 15_000, 100);

    const login = await api('POST', '/auth/login', { body: { email: ana.email, password: PASSWORD } });
    expect([login.status, login.body.error?.code]).toEqual([401, 'AUTH.INVALID_CREDENTIALS']);
    // The auth spoke revokes every token the deleted user held (a "not before" the hub checks on each request).
    await eventually(async () => (await api('GET', '/users/me', { token: ana.token })).status === 401, 15_000, 100);
    for (const [method, path] of [['GET', '/users/me'], ['DELETE', `/users/${ana.id}`]] as const) {
      const after = await api(method, path, { token: ana.token });
      expect([after.status, after.body.error?.code]).toEqual([401, 'AUTH.TOKEN_REVOKED']);
    }
  });

  test('when user B tries to read, change or delete user A, then nothing is allowed, and X-User-* headers change nothing', async () => {
    const a = await register('Alice');
    const b = await register('Bob');
    await eventually(async () => (await api('GET', '/users/me', { token: a.token })).body.email === a.email, 15_000, 100);
    const before = (await api('GET', '/users/me', { token: a.token })).body;

    expect((await api('GET', `/users/${a.id}`, { token: b.token })).status).toBe(404);
    expect((await api('DELETE', `/users/${a.id}`, { token: b.token })).status).toBe(404);
    const spoofed = await api('PATCH', '/users/me', { token: b.token, body: { name: 'Owned' }, headers: { 'x-user-id': a.id, 'x-user-role': 'admin' } });
    expect(spoofed.body.id).toBe(b.id);
    expect((await api('GET', `/users/${a.id}`, { token: b.token, headers: { 'x-user-id': a.id, 'x-user-role': 'admin' } })).status).toBe(404);
    expect((await api('GET', '/users/me', { token: a.token })).body).toEqual(before);
    expect((await api('GET', '/users/not-a-uuid', { token: b.token })).body.error?.code).toBe('USER.INVALID_ID');
  });

  test('when an admin lists profiles, then they page through them and read anyone, while others may not list', async () => {
    const carol = await register('Carol');
    await eventually(async () => (await api('GET', '/users/me', { token: carol.token })).body.email === carol.email, 15_000, 100);
    expect((await api('GET', '/users', { token: carol.token })).status).toBe(403);

    const login = await api('POST', '/auth/login', { body: ADMIN });
    expect(login.status).toBe(200);
    const admin = (login.body as { accessToken: string }).accessToken;
    expect((await api('GET', `/users/${carol.id}`, { token: admin })).body).toMatchObject({ id: carol.id, email: carol.email });

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Call = await api('GET', `/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: admin });
      expect(page.status).toBe(200);
      ids.push(...(page.body.items as { id: string }[]).map((p) => p.id));
      cursor = page.body.nextCursor as string | null;
    } while (cursor);
    expect(ids).toContain(carol.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
