import { randomUUID } from 'node:crypto';
import { createTestKeys, signTestToken, type TestKeys } from '@hubspoke/kit/testing';
import { SignJWT } from 'jose';
import request from 'supertest';
import { beforeAll, describe, expect, test } from 'vitest';
import { edgePipeline, type EdgePipeline } from './edge-pipeline.js';

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('edge auth', () => {
  let edge: EdgePipeline;
  let keys: TestKeys;
  const userId = `user-${randomUUID()}`;

  beforeAll(async () => {
    edge = await edgePipeline();
    keys = edge.keys;
  });

  test('when a valid token arrives, then the spoke sees X-User-Id/X-User-Role and the token itself', async () => {
    const token = await signTestToken(keys, { sub: userId, role: 'admin' });
    const res = await request(edge.app).get('/api/users/me').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.body.headers).toMatchObject({ 'x-user-id': userId, 'x-user-role': 'admin', authorization: `Bearer ${token}` });
    expect(res.body.auth).toMatchObject({ userId, role: 'admin' });
  });

  test('when a client forges X-User-* headers, then they are stripped, with or without a token', async () => {
    const token = await signTestToken(keys, { sub: userId, role: 'user' });
    const withToken = await request(edge.app).get('/api/users/me').set('Authorization', `Bearer ${token}`)
      .set('X-User-Id', 'someone-else').set('X-User-Role', 'admin').set('X-User-Tenant', 'other');
    expect(withToken.body.headers).toMatchObject({ 'x-user-id': userId, 'x-user-role': 'user' });
    expect(withToken.body.headers).not.toHaveProperty('x-user-tenant');

    const anonymous = await request(edge.app).post('/api/auth/login').set('X-User-Id', 'forged').set('X-User-Role', 'admin');
    expect(anonymous.status).toBe(200);
    expect(Object.keys(anonymous.body.headers).filter((h) => h.startsWith('x-user-'))).toEqual([]);
  });

  test('when a private route gets no token, then the hub answers 401 in the error shape and no spoke is called', async () => {
    const before = edge.spokeCalls();
    const res = await request(edge.app).get('/api/users/me').set('X-Request-Id', 'req-no-token');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'AUTH.TOKEN_MISSING', message: expect.any(String), requestId: 'req-no-token' } });
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(edge.spokeCalls()).toBe(before);
  });

  const invalidTokens: Record<string, () => Promise<string>> = {
    expired: () => signTestToken(keys, { sub: userId, role: 'user', expiresIn: -120 }),
    'alg none': async () => `${base64url({ alg: 'none', typ: 'at+jwt', kid: keys.kid })}.${base64url({ sub: userId, role: 'admin', iss: 'hubspoke-auth-test', aud: 'hubspoke', exp: Math.floor(Date.now() / 1000) + 300 })}.`,
    'HS256 with the key id': () => new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: keys.kid })
      .setSubject(userId).setIssuer('hubspoke-auth-test').setAudience('hubspoke').setExpirationTime('5m').sign(new TextEncoder().encode('a-guessed-secret-that-is-long-enough')),
    'wrong issuer': () => signTestToken(keys, { sub: userId, role: 'user', issuer: 'someone-else' }),
    'wrong audience': () => signTestToken(keys, { sub: userId, role: 'user', audience: 'another-platform' }),
    'signed by another key under our kid': async () => signTestToken(await createTestKeys(), { sub: userId, role: 'admin', kid: keys.kid }),
    'unknown kid': async () => signTestToken(await createTestKeys(), { sub: userId, role: 'admin' }),
    'no role claim': () => signTestToken(keys, { sub: userId }),
    'not a JWT': async () => 'not.a.jwt',
  };

  test.each(Object.keys(invalidTokens))('when the token is %s, then the hub answers 401 and no spoke is called', async (kind) => {
    const token = await (invalidTokens[kind] as () => Promise<string>)();
    const before = edge.spokeCalls();
    const res = await request(edge.app).get('/api/users/me').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toMatch(/^AUTH\.TOKEN_(INVALID|EXPIRED)$/);
    expect(edge.spokeCalls()).toBe(before);
  });

  test('when the Authorization header is not a bearer token, then a private route answers 401', async () => {
    const res = await request(edge.app).get('/api/users/me').set('Authorization', 'Basic dXNlcjpwYXNz');
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'AUTH.TOKEN_INVALID' } } });
  });

  test('when a public route gets no token, then it passes anonymously', async () => {
    const res = await request(edge.app).post('/api/auth/login');
    expect(res.status).toBe(200);
    expect(res.body.auth).toBeNull();
  });

  test('when a public route gets a valid token, then the spoke still learns who it is', async () => {
    const token = await signTestToken(keys, { sub: userId, role: 'user' });
    const res = await request(edge.app).post('/api/auth/logout').set('Authorization', `Bearer ${token}`);
    expect(res.body.headers).toMatchObject({ 'x-user-id': userId, 'x-user-role': 'user', authorization: `Bearer ${token}` });
  });

  test('when a public route gets an invalid token, then it passes anonymously with the token removed', async () => {
    const expired = await signTestToken(keys, { sub: userId, role: 'user', expiresIn: -120 });
    const res = await request(edge.app).post('/api/auth/login').set('Authorization', `Bearer ${expired}`).set('X-User-Id', userId);
    expect(res.status).toBe(200);
    expect(res.body.auth).toBeNull();
    expect(res.body.headers).not.toHaveProperty('authorization');
    expect(res.body.headers).not.toHaveProperty('x-user-id');
  });
});
