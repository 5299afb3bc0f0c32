import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;
let ipCounter = 0;

beforeAll(async () => {
  fx = await authFixture('auth_throttle');
});
afterAll(async () => {
  await fx?.cleanup();
});

/** A fresh client address per test; the fixture trusts one proxy hop, as if the hub were in front. */
const freshIp = () => `203.0.113.${++ipCounter}`;
const login = (email: string, password: string, ip: string) =>
  request(fx.app).post('/login').set('x-forwarded-for', ip).send({ email, password });

describe('login throttling', () => {
  test('when an account has 5 failed logins, then the next attempt is 429 with Retry-After, even with the right password', async () => {
    const { user } = await fx.register();
    for (let i = 0; i < 5; i++) expect((await login(user.email, 'wrong password!!', freshIp())).status).toBe(401);

    const blocked = await login(user.email, PASSWORD, freshIp());
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe('AUTH.TOO_MANY_FAILED_LOGINS');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(890);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(900);

    // Another account from the same addresses is not affected.
    const other = await fx.register();
    expect((await login(other.user.email, PASSWORD, `203.0.113.${ipCounter}`)).status).toBe(200);

    // Once the failures leave the window, the account logs in again.
    await fx.db.query(`UPDATE login_failures SET failed_at = failed_at - interval '16 minutes' WHERE subject = $1`, [user.email]);
    expect((await login(user.email, PASSWORD, freshIp())).status).toBe(200);
  });

  test('when an unknown email fails 5 times, then it is throttled exactly like a real account', async () => {
    const email = fx.uniqueEmail('ghost');
    for (let i = 0; i < 5; i++) expect((await login(email, PASSWORD, freshIp())).status).toBe(401);
    expect((await login(email, PASSWORD, freshIp())).status).toBe(429);
  });

  test('when a successful login follows failures, then the account count starts again', async () => {
    const { user } = await fx.register();
    for (let i = 0; i < 4; i++) await login(user.email, 'wrong password!!', freshIp());
    expect((await login(user.email, PASSWORD, freshIp())).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(user.email, 'wrong password!!', freshIp())).status).toBe(401);
    expect((await login(user.email, PASSWORD, freshIp())).status).toBe(200);
  });

  test('when one IP fails 20 times across many accounts, then that IP is throttled while other IPs are not', async () => {
    const ip = freshIp();
    for (let i = 0; i < 20; i++) expect((await login(fx.uniqueEmail('spray'), 'password-spray-1', ip)).status).toBe(401);
    const { user } = await fx.register();
    const blocked = await login(user.email, PASSWORD, ip);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // The client cannot escape by prepending addresses: only the hop the proxy appended counts.
    expect((await login(user.email, PASSWORD, `198.51.100.1, ${ip}`)).status).toBe(429);
    expect((await login(user.email, PASSWORD, freshIp())).status).toBe(200);
  });
});
