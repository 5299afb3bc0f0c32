import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { METRICS_PATH } from '@hubspoke/kit';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;
let ipCounter = 0;

beforeAll(async () => {
  // The defaults: 3 free failures per (account, address), then 1 s, doubling; 20 failures per address.
  fx = await authFixture('auth_throttle');
});
afterAll(async () => {
  await fx?.cleanup();
});

/** A fresh client address per use; the fixture trusts one proxy hop, as if the hub were in front. */
const freshIp = () => `203.0.113.${++ipCounter}`;
const login = (email: string, password: string, ip: string) =>
  request(fx.app).post('/login').set('x-forwarded-for', ip).send({ email, password });
/** Moves an address's failures back in time, as if the client had waited. */
const age = (address: string, ms: number) =>
  fx.db.query(`UPDATE login_failures SET failed_at = failed_at - $2::float8 * interval '1 millisecond' WHERE address = $1`, [address, ms]);
const attempts = async (outcome: string) => {
  const text = (await request(fx.app).get(METRICS_PATH)).text;
  return Number(new RegExp(`^auth_login_attempts_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1]);
};

describe('login throttling per account and address', () => {
  test('when an attacker\'s address keeps failing an account, then it waits longer each time while the owner logs in at once from their own address', async () => {
    const { user } = await fx.register();
    const attacker = freshIp();
    const throttledBefore = await attempts('throttled_account');
    for (let i = 0; i < 3; i++) expect((await login(user.email, 'wrong password!!', attacker)).status).toBe(401);

    // Growing delays: 1 s after the third failure, then 2 s, then 4 s; even the right password waits.
    const retryAfters: number[] = [];
    for (const waitedMs of [1_100, 2_100, 0]) {
      const blocked = await login(user.email, PASSWORD, attacker);
      expect(blocked.status).toBe(429);
      expect(blocked.body.error.code).toBe('AUTH.TOO_MANY_FAILED_LOGINS');
      retryAfters.push(Number(blocked.headers['retry-after']));
      if (waitedMs === 0) break;
      await age(attacker, waitedMs);
      expect((await login(user.email, 'wrong password!!', attacker)).status).toBe(401);
    }
    expect(retryAfters).toEqual([1, 2, 4]);

    const owner = await login(user.email, PASSWORD, freshIp());
    expect(owner.status).toBe(200);
    expect(await attempts('throttled_account')).toBe(throttledBefore + 3);
  });

  test('when an unknown email is guessed from one address, then it is delayed exactly like a real account', async () => {
    const email = fx.uniqueEmail('ghost');
    const ip = freshIp();
    for (let i = 0; i < 3; i++) expect((await login(email, PASSWORD, ip)).status).toBe(401);
    expect((await login(email, PASSWORD, ip)).status).toBe(429);
  });

  test('when a successful login follows failures from the same address, then that pair starts again but the address still counts them', async () => {
    const { user } = await fx.register();
    const ip = freshIp();
    for (let i = 0; i < 2; i++) await login(user.email, 'wrong password!!', ip);
    expect((await login(user.email, PASSWORD, ip)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await login(user.email, 'wrong password!!', ip)).status).toBe(401);
    expect((await login(user.email, PASSWORD, ip)).status).toBe(200);
    const { rows } = await fx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM login_failures WHERE address = $1', [ip]);
    expect(rows).toEqual([{ n: 4 }]);
  });

  test('when one address fails 20 times across many accounts, then it has spent its budget for every account while other addresses have not', async () => {
    const ip = freshIp();
    const before = { address: await attempts('throttled_address'), invalid: await attempts('invalid_credentials') };
    for (let i = 0; i < 20; i++) expect((await login(fx.uniqueEmail('spray'), 'password-spray-1', ip)).status).toBe(401);
    const { user } = await fx.register();
    const blocked = await login(user.email, PASSWORD, ip);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(890);
    // The client cannot escape by prepending addresses: only the hop the proxy appended counts.
    expect((await login(user.email, PASSWORD, `198.51.100.1, ${ip}`)).status).toBe(429);
    expect((await login(user.email, PASSWORD, freshIp())).status).toBe(200);
    expect(await attempts('throttled_address')).toBe(before.address + 2);
    expect(await attempts('invalid_credentials')).toBe(before.invalid + 20);

    // Once the failures leave the window, the address may try again.
    await age(ip, 16 * 60_000);
    expect((await login(user.email, PASSWORD, ip)).status).toBe(200);
  });
});
