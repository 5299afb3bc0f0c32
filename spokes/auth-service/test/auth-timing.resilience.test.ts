import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { eventually } from '@hubspoke/kit/testing';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;

beforeAll(async () => {
  // Production argon2 cost (the config defaults), so a skipped hash would show; throttling out of the way,
  // and a reset link issued for every forgot request (the most work a known address can cause).
  fx = await authFixture('auth_timing', {
    env: {
      ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2', LOGIN_FAILURES_BEFORE_DELAY: '1000', LOGIN_MAX_FAILURES_PER_IP: '1000', ACCOUNT_EMAIL_INTERVAL: '0',
    },
  });
});
afterAll(async () => {
  await fx?.cleanup();
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(body: { email: string; password: string }): Promise<number> {
  const start = process.hrtime.bigint();
  const res = await request(fx.app).post('/login').send(body);
  expect(res.status).toBe(401);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

describe('login timing', () => {
  test('when the email is unknown, then the 401 takes about as long as for a wrong password', async () => {
    const { user } = await fx.register();
    await timed({ email: user.email, password: 'warm-up password' });
    const wrong: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 10; i++) {
      wrong.push(await timed({ email: user.email, password: `wrong password ${i}` }));
      unknown.push(await timed({ email: fx.uniqueEmail('nobody'), password: PASSWORD }));
    }
    const ratio = median(unknown) / median(wrong);
    // Both verify one argon2id hash (≈ tens of ms); without the dummy hash the ratio would be far below 0.2.
    expect(median(wrong)).toBeGreaterThan(10);
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(1.6);
  });
});

describe('password forgot timing', () => {
  type Timed = { ms: number; body: unknown };
  async function timedForgot(email: string): Promise<Timed> {
    const start = process.hrtime.bigint();
    const res = await request(fx.app).post('/password/forgot').send({ email });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    expect(res.status).toBe(202);
    return { ms, body: res.body };
  }

  test('when the email is unknown, then the 202 has the same body and takes about as long as for an account (whose link is issued each time)', async () => {
    const { user } = await fx.register();
    await timedForgot(user.email);
    await timedForgot(fx.uniqueEmail('nobody'));
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 30; i++) {
      // Alternate which goes first: the link a known address issues is still being written during the next request.
      const [forKnown, forUnknown] = i % 2 === 0
        ? [await timedForgot(user.email), await timedForgot(fx.uniqueEmail('nobody'))]
        : [await timedForgot(fx.uniqueEmail('nobody')), await timedForgot(user.email)].reverse() as [Timed, Timed];
      expect(forUnknown.body).toEqual(forKnown.body);
      known.push(forKnown.ms);
      unknown.push(forUnknown.ms);
    }
    // Every request for the account issued a link (each replacing the one before): the work was done each time.
    await eventually(() => fx.lines.filter((l) => l.msg === 'password reset link sent' && l.userId === user.id).length === 31);
    const links = await fx.db.query(`SELECT count(*)::int AS n FROM account_tokens WHERE user_id = $1 AND purpose = 'reset_password'`, [user.id]);
    expect(links.rows).toEqual([{ n: 1 }]);
    const ratio = median(unknown) / median(known);
    // Looking the address up and issuing a link inline would make an account's answer several times slower.
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(1.6);
  });
});
