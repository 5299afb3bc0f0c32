import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

let fx: AuthFixture;

beforeAll(async () => {
  // Production argon2 cost (the config defaults), so a skipped hash would show; throttling out of the way.
  fx = await authFixture('auth_timing', {
    env: { ARGON2_MEMORY_KIB: '19456', ARGON2_TIME_COST: '2', LOGIN_FAILURES_BEFORE_DELAY: '1000', LOGIN_MAX_FAILURES_PER_IP: '1000' },
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
