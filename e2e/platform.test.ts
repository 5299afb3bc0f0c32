import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@hubspoke/kit/testing';
import { apiClient, startPlatform, type Platform } from './support/platform.js';

// Client → the gateway (host nginx, the compose template) → hub → auth and user spokes, all real processes.
let platform: Platform;
const PASSWORD = 'a-long-platform-passphrase';

const api = apiClient(() => platform.url);

beforeAll(async () => {
  // A per-IP login limit the test can reach (the auth spoke asks for 10/min on /login by itself).
  platform = await startPlatform({ gateway: true });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
}, 30_000);

/**
 * A login sent from another loopback address: the gateway sees a client of its own, whose per-IP limits no other test
 * spends and which spends none of theirs.
 */
function loginFrom(localAddress: string, body: unknown, headers: Record<string, string>) {
  const { hostname, port } = new URL(platform.url);
  return new Promise<{ status: number; retryAfter: string | undefined; body: { error?: Record<string, unknown> } }>((resolve, reject) => {
    const req = request({ hostname, port, localAddress, method: 'POST', path: '/api/auth/login', headers: { ...headers, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('the platform through the gateway', () => {
  test('when a client registers, logs in, reads and updates its profile, refreshes and logs out, then every step answers as documented', async () => {
    const email = `gw-${randomUUID().slice(0, 8)}@example.com`;
    expect((await api('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Gia' } })).status).toBe(201);
    const login = await api('POST', '/auth/login', { body: { email, password: PASSWORD }, headers: { 'x-request-id': 'gw-login-1' } });
    expect(login.status).toBe(200);
    expect(login.headers.get('x-request-id')).toBe('gw-login-1');
    const token = login.body.accessToken as string;

    const me = await eventually(async () => {
      const res = await api('GET', '/users/me', { token });
      return res.body.email === email ? res : undefined;
    }, 15_000, 100);
    expect(me.body).toMatchObject({ email, name: 'Gia' });
    expect((await api('PATCH', '/users/me', { token, body: { bio: 'via nginx' } })).body).toMatchObject({ bio: 'via nginx' });

    const refreshed = await api('POST', '/auth/refresh', { body: { refreshToken: login.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect((await api('POST', '/auth/logout', { body: { refreshToken: refreshed.body.refreshToken } })).status).toBe(204);
    expect((await api('POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken } })).status).toBe(401);

    // The request id chosen by the client reached the spoke's log lines through nginx and the hub.
    await expect.poll(() => platform.service('auth').logs.some((l) => l.requestId === 'gw-login-1')).toBe(true);
  });

  test('when a client forges X-Forwarded-For, then the login limit still counts its real address and answers 429 with Retry-After', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof loginFrom>> | undefined;
    for (let i = 0; i < 15 && !limited; i++) {
      const res = await loginFrom('127.0.0.2', { email: `nobody-${i}@example.com`, password: PASSWORD }, { 'x-forwarded-for': `198.51.100.${i}` });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(limited, statuses.join(',')).toBeDefined();
    expect(limited!.retryAfter).toMatch(/^\d+$/);
    expect(limited!.body.error).toMatchObject({ code: expect.stringMatching(/RATE_LIMIT|TOO_MANY/), requestId: expect.any(String) });
  });

  test('when a client asks for a spoke\'s metrics through the gateway, then /internal/ is refused and /metrics is the spoke\'s own 404', async () => {
    const email = `metrics-${randomUUID()}@example.com`;
    expect((await api('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Mel' } })).status).toBe(201);
    const token = (await api('POST', '/auth/login', { body: { email, password: PASSWORD } })).body.accessToken as string;
    for (const path of ['/auth/internal/metrics', '/users/internal/metrics', '/auth/INTERNAL/Metrics/', '/auth/metrics']) {
      const res = await api('GET', path, { token });
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 404, code: 'ROUTE.NOT_FOUND' });
    }
    // /metrics reached the auth spoke, which has no such route; /internal/metrics never left the hub.
    const requestId = `metrics-probe-${randomUUID()}`;
    await api('GET', '/auth/metrics', { token, headers: { 'x-request-id': requestId } });
    await expect.poll(() => platform.service('auth').logs.some((l) => l.requestId === requestId && l.statusCode === 404)).toBe(true);
  });

  test('when requests pass, then the gateway logs one JSON line each, with the request id the spokes logged', async () => {
    const requestId = `gw-logged-${randomUUID()}`;
    const body = { email: `${requestId}@example.com`, password: PASSWORD, name: 'Lou' };
    expect((await api('POST', '/auth/register', { body, headers: { 'x-request-id': requestId } })).status).toBe(201);

    // nginx and the spoke write their lines as the request ends, which may be just after the client has the response.
    await expect.poll(async () => (await platform.gateway!.accessLog()).filter((l) => l.requestId === requestId))
      .toEqual([expect.objectContaining({ uri: '/api/auth/register', status: 201 })]);
    await expect.poll(() => platform.service('auth').logs.some((l) => l.requestId === requestId)).toBe(true);
  });
});
