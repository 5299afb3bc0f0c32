import express, { type Express } from 'express';
import request from 'supertest';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  assertSelfOrAdmin, authenticate, createLogger, createStaticKeySource, createTokenVerifier, errorHandler, requestContext, requireRole,
} from '../src/index.js';
import { createTestKeys, signTestToken, TEST_AUDIENCE, TEST_ISSUER, type TestKeys } from '../src/testing/index.js';

let keys: TestKeys;
let app: Express;

beforeAll(async () => {
  keys = await createTestKeys();
  const verifier = createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  app = express();
  app.use(requestContext());
  app.get('/me', authenticate(verifier), (req, res) => {
    res.json({ auth: req.auth });
  });
  app.get('/feed', authenticate(verifier, { optional: true }), (req, res) => {
    res.json({ userId: req.auth?.userId ?? null });
  });
  app.get('/admin', authenticate(verifier), requireRole('admin'), (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/users/:id', authenticate(verifier), (req, res) => {
    const id = String(req.params.id);
    assertSelfOrAdmin(req.auth, id);
    res.json({ id });
  });
  app.use(errorHandler(createLogger({ service: 'auth-test', level: 'silent' })));
});

const bearer = async (sub: string, role = 'user') => `Bearer ${await signTestToken(keys, { sub, role })}`;
const errorShape = (code: string) => ({ error: { code, message: expect.any(String), requestId: expect.any(String) } });

describe('authenticate', () => {
  test('when the bearer token is valid, then req.auth carries the verified user id, role and the token', async () => {
    const authorization = await bearer('user-1');
    const res = await request(app).get('/me').set('Authorization', authorization);
    expect(res.status).toBe(200);
    // A token without the email_verified claim (signed before it existed) reads as not verified.
    expect(res.body).toEqual({ auth: { userId: 'user-1', role: 'user', emailVerified: false, tokenId: expect.any(String), issuedAt: expect.any(Number), token: authorization.slice('Bearer '.length) } });
  });

  test('when the token says email_verified: true, then req.auth says the email is verified', async () => {
    const token = await signTestToken(keys, { sub: 'user-2', role: 'user', emailVerified: true });
    const res = await request(app).get('/me').set('Authorization', `Bearer ${token}`);
    expect(res.body.auth).toMatchObject({ userId: 'user-2', emailVerified: true });
  });

  test('when the scheme is written in another case, then the token is still accepted', async () => {
    const authorization = (await bearer('user-1')).replace('Bearer', 'bearer');
    expect((await request(app).get('/me').set('Authorization', authorization)).status).toBe(200);
  });

  test('when there is no Authorization header, then it answers 401 AUTH.TOKEN_MISSING in the error shape', async () => {
    const res = await request(app).get('/me').set('X-Request-Id', 'req-auth-1');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body).toEqual({ error: { code: 'AUTH.TOKEN_MISSING', message: 'Authentication required', requestId: 'req-auth-1' } });
  });

  test('when the Authorization header is malformed, then it answers 401 AUTH.TOKEN_INVALID', async () => {
    const token = await signTestToken(keys, { sub: 'user-1', role: 'user' });
    for (const authorization of ['', 'Bearer', 'Bearer ', `Basic ${token}`, token, `Bearer ${token} extra`, 'Bearer a,b']) {
      const res = await request(app).get('/me').set('Authorization', authorization);
      expect(res.status, authorization).toBe(401);
      expect(res.body).toEqual(errorShape('AUTH.TOKEN_INVALID'));
    }
  });

  test('when the token has expired, then it answers 401 AUTH.TOKEN_EXPIRED with a Bearer challenge', async () => {
    const token = await signTestToken(keys, { sub: 'user-1', role: 'user', expiresIn: -60 });
    const res = await request(app).get('/me').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(res.body).toEqual(errorShape('AUTH.TOKEN_EXPIRED'));
  });

  test('when only a forged X-User-Id and X-User-Role are sent, then they are ignored and it answers 401', async () => {
    const res = await request(app).get('/me').set('X-User-Id', 'victim').set('X-User-Role', 'admin');
    expect(res.status).toBe(401);
    expect(res.body).toEqual(errorShape('AUTH.TOKEN_MISSING'));
  });

  test('when a forged X-User-Id comes with a valid token, then the token\'s user wins', async () => {
    const res = await request(app).get('/me').set('Authorization', await bearer('user-1'))
      .set('X-User-Id', 'victim').set('X-User-Role', 'admin');
    expect(res.body).toMatchObject({ auth: { userId: 'user-1', role: 'user' } });
  });

  test('when authentication is optional and there is no header, then the request passes anonymously', async () => {
    const res = await request(app).get('/feed').set('X-User-Id', 'victim');
    expect(res).toMatchObject({ status: 200, body: { userId: null } });
  });

  test('when authentication is optional and the token is bad, then it still answers 401', async () => {
    const res = await request(app).get('/feed').set('Authorization', 'Bearer not.a.token');
    expect(res).toMatchObject({ status: 401, body: errorShape('AUTH.TOKEN_INVALID') });
  });

  test('when authentication is optional and the token is valid, then req.auth is set', async () => {
    const res = await request(app).get('/feed').set('Authorization', await bearer('user-2'));
    expect(res).toMatchObject({ status: 200, body: { userId: 'user-2' } });
  });
});

describe('requireRole', () => {
  test('when the user is an admin, then the admin route answers', async () => {
    const res = await request(app).get('/admin').set('Authorization', await bearer('admin-1', 'admin'));
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
  });

  test('when the user is not an admin, then it answers 403 AUTH.FORBIDDEN', async () => {
    const res = await request(app).get('/admin').set('Authorization', await bearer('user-1')).set('X-User-Role', 'admin');
    expect(res).toMatchObject({ status: 403, body: errorShape('AUTH.FORBIDDEN') });
  });
});

describe('assertSelfOrAdmin', () => {
  test('when users read their own resource, then it is allowed', async () => {
    const res = await request(app).get('/users/user-1').set('Authorization', await bearer('user-1'));
    expect(res).toMatchObject({ status: 200, body: { id: 'user-1' } });
  });

  test('when users read someone else\'s resource, then it answers 403', async () => {
    const res = await request(app).get('/users/user-2').set('Authorization', await bearer('user-1'));
    expect(res).toMatchObject({ status: 403, body: errorShape('AUTH.FORBIDDEN') });
  });

  test('when an admin reads someone else\'s resource, then it is allowed', async () => {
    const res = await request(app).get('/users/user-2').set('Authorization', await bearer('admin-1', 'admin'));
    expect(res).toMatchObject({ status: 200, body: { id: 'user-2' } });
  });

  test('when there is no user, then it throws 401', () => {
    expect(() => assertSelfOrAdmin(undefined, 'user-1')).toThrow(expect.objectContaining({ status: 401 }));
  });
});
