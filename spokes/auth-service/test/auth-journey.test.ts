import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { decodeProtectedHeader } from 'jose';
import { ACCESS_TOKEN_TYPE, METRICS_PATH } from '@hubspoke/kit';
import { eventually } from '@hubspoke/kit/testing';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;

beforeAll(async () => {
  fx = await authFixture('auth_journey');
});
afterAll(async () => {
  await fx?.cleanup();
});

const eventsOf = (type: string, userId: string) => fx.events.filter((e) => e.type === type && (e.payload as { userId: string }).userId === userId);

describe('register → login → refresh → reuse → logout', () => {
  test('when a user walks the whole journey, then every step answers as documented and publishes its events once', async () => {
    const email = fx.uniqueEmail('ana');

    const registered = await request(fx.app).post('/register').set('x-request-id', 'req-register-1')
      .send({ email: `  ${email.toUpperCase()} `, password: PASSWORD, name: ' Ana ' });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({
      user: { id: expect.any(String), email, name: 'Ana', role: 'user', emailVerified: false },
      accessToken: expect.any(String), refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresIn: 900,
    });
    const userId = registered.body.user.id as string;
    expect(decodeProtectedHeader(registered.body.accessToken)).toMatchObject({ alg: 'ES256', typ: ACCESS_TOKEN_TYPE, kid: fx.keys.current().kid });
    expect(await fx.verifier.verify(registered.body.accessToken)).toMatchObject({ userId, role: 'user', emailVerified: false });

    const login = await request(fx.app).post('/login').send({ email: email.toUpperCase(), password: PASSWORD });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ user: { id: userId, email }, accessToken: expect.any(String), refreshToken: expect.any(String), expiresIn: 900 });
    expect(login.body.refreshToken).not.toBe(registered.body.refreshToken);

    const first = await request(fx.app).post('/refresh').send({ refreshToken: login.body.refreshToken });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ accessToken: expect.any(String), refreshToken: expect.any(String), expiresIn: 900 });
    expect(await fx.verifier.verify(first.body.accessToken)).toMatchObject({ userId });

    // A retry of the same token within the grace window (the response was lost): the same pair, no alarm.
    const retried = await request(fx.app).post('/refresh').send({ refreshToken: login.body.refreshToken });
    expect(retried.status).toBe(200);
    expect(retried.body).toEqual(first.body);

    const second = await request(fx.app).post('/refresh').send({ refreshToken: first.body.refreshToken });
    expect(second.status).toBe(200);

    // The first token again, now that its successor has been used: reuse, the whole family ends.
    const reused = await request(fx.app).post('/refresh').send({ refreshToken: login.body.refreshToken });
    expect(reused.status).toBe(401);
    expect(reused.body.error).toMatchObject({ code: 'AUTH.REFRESH_REUSED', requestId: expect.any(String) });
    const afterReuse = await request(fx.app).post('/refresh').send({ refreshToken: second.body.refreshToken });
    expect(afterReuse.status).toBe(401);
    expect(afterReuse.body.error.code).toBe('AUTH.REFRESH_INVALID');

    // The registration's family was never touched by the reuse; logout ends it.
    const logout = await request(fx.app).post('/logout').send({ refreshToken: registered.body.refreshToken });
    expect(logout.status).toBe(204);
    const afterLogout = await request(fx.app).post('/refresh').send({ refreshToken: registered.body.refreshToken });
    expect(afterLogout.status).toBe(401);
    expect(afterLogout.body.error.code).toBe('AUTH.REFRESH_INVALID');
    expect((await request(fx.app).post('/logout').send({ refreshToken: registered.body.refreshToken })).status).toBe(204);

    await eventually(() => eventsOf('user.logged_in', userId).length === 1 && eventsOf('user.registered', userId).length === 1);
    expect(eventsOf('user.registered', userId)[0]).toMatchObject({
      version: 1, source: 'auth', correlationId: 'req-register-1', payload: { userId, email, name: 'Ana', role: 'user' },
    });
    expect(fx.lines).toContainEqual(expect.objectContaining({ msg: 'user registered', userId, requestId: 'req-register-1' }));
    expect(fx.lines).toContainEqual(expect.objectContaining({ msg: 'refresh token reused: token family revoked' }));
    expect(JSON.stringify(fx.lines)).not.toContain(PASSWORD);
  });

  test('when the same token is refreshed concurrently, then every request gets the same new pair', async () => {
    const { refreshToken } = await fx.register();
    const answers = await Promise.all(Array.from({ length: 5 }, () => request(fx.app).post('/refresh').send({ refreshToken })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(answers.map((a) => a.body.refreshToken)).size).toBe(1);
  });
});

describe('every 4xx', () => {
  test('when register lacks fields or has weak ones, then 400 names each field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ password: PASSWORD, name: 'A' }, 'email'],
      [{ email: 'not-an-email', password: PASSWORD, name: 'A' }, 'email'],
      [{ email: `${'a'.repeat(250)}@example.com`, password: PASSWORD, name: 'A' }, 'email'],
      [{ email: fx.uniqueEmail(), password: 'short', name: 'A' }, 'password'],
      [{ email: fx.uniqueEmail(), password: 'p'.repeat(257), name: 'A' }, 'password'],
      [{ email: fx.uniqueEmail(), password: PASSWORD }, 'name'],
      [{ email: fx.uniqueEmail(), password: PASSWORD, name: '   ' }, 'name'],
      [{ email: fx.uniqueEmail(), password: PASSWORD, name: 'n'.repeat(101) }, 'name'],
      [{ email: fx.uniqueEmail(), password: PASSWORD, name: 'A', role: 'admin' }, 'role'],
    ];
    for (const [body, field] of cases) {
      const res = await request(fx.app).post('/register').send(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'REQUEST.VALIDATION_FAILED', details: { problems: expect.arrayContaining([expect.objectContaining({ field })]) } });
    }
  });

  test('when a body is not acceptable JSON, then 400 with its own code and nothing is stored', async () => {
    const email = fx.uniqueEmail();
    const nul = await request(fx.app).post('/register').set('content-type', 'application/json')
      .send(`{"email":"${email}","password":"${PASSWORD}","name":"A\\u0000"}`);
    expect([nul.status, nul.body.error.code]).toEqual([400, 'REQUEST.NUL_CHARACTER']);
    const proto = await request(fx.app).post('/register').set('content-type', 'application/json')
      .send(`{"email":"${email}","password":"${PASSWORD}","name":"A","__proto__":{"role":"admin"}}`);
    expect([proto.status, proto.body.error.code]).toEqual([400, 'REQUEST.FORBIDDEN_KEY']);
    const malformed = await request(fx.app).post('/login').set('content-type', 'application/json').send('{"email":');
    expect([malformed.status, malformed.body.error.code]).toEqual([400, 'REQUEST.MALFORMED_JSON']);
    const none = await request(fx.app).post('/login');
    expect([none.status, none.body.error.code]).toEqual([400, 'REQUEST.VALIDATION_FAILED']);
    expect((await request(fx.app).post('/login').send({ email, password: PASSWORD })).status).toBe(401);
  });

  test('when the email is taken, in any case or spacing, then 409 AUTH.EMAIL_TAKEN and no second event', async () => {
    const { user } = await fx.register();
    const res = await request(fx.app).post('/register').send({ email: ` ${user.email.toUpperCase()}`, password: PASSWORD, name: 'Other' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('AUTH.EMAIL_TAKEN');
    await fx.eventsSettled();
    expect(fx.events.filter((e) => e.type === 'user.registered' && (e.payload as { email: string }).email === user.email)).toHaveLength(1);
  });

  test('when login has a wrong password or an unknown email, then the same 401 AUTH.INVALID_CREDENTIALS', async () => {
    const { user } = await fx.register();
    const wrong = await request(fx.app).post('/login').send({ email: user.email, password: 'wrong password!!' });
    const unknown = await request(fx.app).post('/login').send({ email: fx.uniqueEmail('nobody'), password: PASSWORD });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'AUTH.INVALID_CREDENTIALS', message: 'Email or password is incorrect' });
    }
  });

  test('when a refresh token is unknown, malformed or missing, then 401 or 400', async () => {
    const unknown = await request(fx.app).post('/refresh').send({ refreshToken: 'A'.repeat(43) });
    expect([unknown.status, unknown.body.error.code]).toEqual([401, 'AUTH.REFRESH_INVALID']);
    const junk = await request(fx.app).post('/refresh').send({ refreshToken: 'not a token' });
    expect([junk.status, junk.body.error.code]).toEqual([401, 'AUTH.REFRESH_INVALID']);
    const missing = await request(fx.app).post('/refresh').send({});
    expect(missing.status).toBe(400);
    expect((await request(fx.app).post('/logout').send({})).status).toBe(400);
  });

  test('when a refresh token has expired, then 401 AUTH.REFRESH_EXPIRED', async () => {
    const { refreshToken, user } = await fx.register();
    await fx.db.query(`UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE family_id IN (SELECT id FROM refresh_token_families WHERE user_id = $1)`, [user.id]);
    const res = await request(fx.app).post('/refresh').send({ refreshToken });
    expect([res.status, res.body.error.code]).toEqual([401, 'AUTH.REFRESH_EXPIRED']);
  });

  test('when a route does not exist, then 404 in the error shape', async () => {
    const res = await request(fx.app).get('/nope');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'ROUTE.NOT_FOUND', requestId: expect.any(String) });
  });
});

describe('operations', () => {
  test('when probed, then /health is ok, /ready is ready with Postgres and RabbitMQ, and /internal/metrics counts by route template', async () => {
    expect((await request(fx.app).get('/health')).body).toEqual({ status: 'ok' });
    expect((await request(fx.app).get('/ready')).body).toEqual({ status: 'ready', degraded: [] });
    const metrics = await request(fx.app).get(METRICS_PATH);
    expect(metrics.text).toMatch(/http_requests_total\{method="POST",route="\/register",status_code="201",service="auth"\}/);
  });

  test('when the JWKS is fetched, then it lists only public signing keys', async () => {
    const res = await request(fx.app).get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.body.keys).toEqual([{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: fx.keys.current().kid, alg: 'ES256', use: 'sig' }]);
  });
});
