import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import request from 'supertest';
import { decodeJwt } from 'jose';
import { SendAccountEmailV1, type SendAccountEmailV1Payload } from '@hubspoke/contracts';
import { connectBus, createEvent, createLogger, METRICS_PATH, parseEvent, type Bus, type ConsumerQueues } from '@hubspoke/kit';
import { deleteTestTopology, eventually, testAmqpUrl } from '@hubspoke/kit/testing';
import { UserDeletedV1 } from '@hubspoke/contracts';
import { authFixture, PASSWORD, type AuthFixture } from './auth-fixture.js';

// The auth spoke on its own: the commands it sends are read from the tasks exchange as the notification
// spoke would; ACCOUNT_EMAIL_INTERVAL keeps its default (one link of each kind per account per minute).
let fx: AuthFixture;
let probe: Bus;
let probeQueues: ConsumerQueues;
const commands: { id: string; payload: SendAccountEmailV1Payload }[] = [];

beforeAll(async () => {
  fx = await authFixture('auth_account_links', { env: { ACCOUNT_LINK_BASE_URL: 'https://app.example.test/account/' } });
  probe = await connectBus({ url: testAmqpUrl(), service: 'notification', prefix: fx.prefix, logger: createLogger({ service: 'probe', level: 'silent' }) });
  ({ queues: probeQueues } = await probe.consume({
    name: 'account-email', exchange: SendAccountEmailV1.exchange, bindings: [SendAccountEmailV1.routingKey], db: fx.db,
    handler: async (envelope) => void commands.push({ id: envelope.id, payload: parseEvent(SendAccountEmailV1, envelope) }),
  }));
});
afterAll(async () => {
  await probe?.close();
  if (probeQueues) await deleteTestTopology(fx.prefix, [probeQueues]);
  await fx?.cleanup();
});

async function commandFor(email: string, template: SendAccountEmailV1Payload['template'], after = 0) {
  const found = await eventually(() => commands.slice(after).find((c) => c.payload.email === email && c.payload.template === template), 10_000);
  const token = 'link' in found.payload ? /#token=([A-Za-z0-9_-]{43})$/.exec(found.payload.link)?.[1] : undefined;
  return { ...found, token: token! };
}

describe('the verification link', () => {
  test('when a user registers, then a verify-email command with a link goes to the tasks exchange, never the events exchange, and leaves the outbox once relayed', async () => {
    const { user } = await fx.register({ name: 'Noa' });
    const command = await commandFor(user.email, 'verify-email');
    expect(command.payload).toEqual({
      template: 'verify-email', userId: user.id, email: user.email, name: 'Noa',
      link: expect.stringMatching(/^https:\/\/app\.example\.test\/account\/verify-email#token=[A-Za-z0-9_-]{43}$/), expiresInMinutes: 1440,
    });
    await fx.eventsSettled();
    expect(fx.events.map((e) => e.type)).not.toContain(SendAccountEmailV1.type);
    expect(JSON.stringify(fx.events)).not.toContain(command.token);
    // Only the token's hash is stored; the command's outbox row is gone, the events' rows stay as sent.
    const { rows: outbox } = await fx.db.query('SELECT id FROM outbox WHERE id = $1', [command.id]);
    expect(outbox).toEqual([]);
    expect(JSON.stringify((await fx.db.query('SELECT * FROM account_tokens')).rows)).not.toContain(command.token);
  });

  test('when a new link is asked for moments after the last, then it is 429 with Retry-After; once verified, 409', async () => {
    const { user, accessToken } = await fx.register();
    const { token } = await commandFor(user.email, 'verify-email');
    const tooSoon = await request(fx.app).post('/email/verify/request').set('authorization', `Bearer ${accessToken}`);
    expect([tooSoon.status, tooSoon.body.error.code]).toEqual([429, 'AUTH.TOO_MANY_EMAILS']);
    expect(Number(tooSoon.headers['retry-after'])).toBeGreaterThan(50);

    expect((await request(fx.app).post('/email/verify').send({ token })).status).toBe(200);
    const done = await request(fx.app).post('/email/verify/request').set('authorization', `Bearer ${accessToken}`);
    expect([done.status, done.body.error.code]).toEqual([409, 'AUTH.EMAIL_ALREADY_VERIFIED']);
  });

  test('when the account\'s address changes after it was verified, then it is unverified again and a link to the old address is refused', async () => {
    const { user, refreshToken } = await fx.register();
    const { token } = await commandFor(user.email, 'verify-email');
    // No route changes an email yet (the user spoke cannot); a future one would update this column.
    const changed = fx.uniqueEmail('moved');
    await fx.db.query('UPDATE credentials SET email = $2 WHERE user_id = $1', [user.id, changed]);
    const refused = await request(fx.app).post('/email/verify').send({ token });
    expect([refused.status, refused.body.error.code]).toEqual([400, 'AUTH.LINK_INVALID']);

    await fx.db.query('UPDATE credentials SET email = $2 WHERE user_id = $1', [user.id, user.email]);
    expect((await request(fx.app).post('/email/verify').send({ token })).status).toBe(200);
    await fx.db.query('UPDATE credentials SET email = $2 WHERE user_id = $1', [user.id, changed]);
    const refreshed = await request(fx.app).post('/refresh').send({ refreshToken });
    expect(decodeJwt(refreshed.body.accessToken as string)).toMatchObject({ email_verified: false });
  });

  test('when the body is malformed, then it is a 400 naming the field and nothing is used', async () => {
    for (const body of [{}, { token: '' }, { token: 'x', extra: 1 }, { token: 'x'.repeat(600) }]) {
      const res = await request(fx.app).post('/email/verify').send(body);
      expect([res.status, res.body.error.code]).toEqual([400, 'REQUEST.VALIDATION_FAILED']);
    }
    const forgot = await request(fx.app).post('/password/forgot').send({ email: 'not an email' });
    expect([forgot.status, forgot.body.error.details.problems[0].field]).toEqual([400, 'email']);
    expect((await request(fx.app).post('/email/verify/request')).status).toBe(401);
  });
});

describe('the password reset link', () => {
  test('when forgot is asked twice within the interval, then one link goes out and the second request changes nothing', async () => {
    const { user } = await fx.register();
    const before = commands.length;
    expect((await request(fx.app).post('/password/forgot').send({ email: user.email.toUpperCase() })).status).toBe(202);
    const { token } = await commandFor(user.email, 'password-reset', before);
    expect((await request(fx.app).post('/password/forgot').send({ email: user.email })).status).toBe(202);
    await eventually(() => fx.lines.some((l) => l.msg === 'password reset not sent: a link went out moments ago' && l.userId === user.id));
    await fx.eventsSettled();
    expect(commands.slice(before).filter((c) => c.payload.email === user.email && c.payload.template === 'password-reset')).toHaveLength(1);
    expect((await request(fx.app).post('/password/reset').send({ token, password: 'a fresh passphrase' })).status).toBe(204);
    expect((await commandFor(user.email, 'password-changed', before)).payload).toEqual({ template: 'password-changed', userId: user.id, email: user.email, name: 'Ana' });
  });

  test('when the account is deleted (user.deleted), then its link stops working', async () => {
    const { user } = await fx.register();
    const before = commands.length;
    await request(fx.app).post('/password/forgot').send({ email: user.email });
    const { token } = await commandFor(user.email, 'password-reset', before);
    const deleted = createEvent(UserDeletedV1, 'user', { userId: user.id });
    const consumed = fx.bus.waitFor('consumed', (c) => c.envelope.id === deleted.id);
    await probe.publish(deleted);
    await consumed;
    const res = await request(fx.app).post('/password/reset').send({ token, password: 'a fresh passphrase' });
    expect([res.status, res.body.error.code]).toEqual([400, 'AUTH.LINK_INVALID']);
    expect((await request(fx.app).post('/login').send({ email: user.email, password: PASSWORD })).status).toBe(401);
  });

  test('when the flows above ran, then no token appears in any log line or metric of the spoke', async () => {
    const tokens = commands.flatMap((c) => ('link' in c.payload ? [/#token=(.+)$/.exec(c.payload.link)![1]!] : []));
    expect(tokens.length).toBeGreaterThanOrEqual(6);
    const logged = JSON.stringify(fx.lines);
    const metrics = (await request(fx.app).get(METRICS_PATH)).text;
    expect(metrics).toContain('route="/password/reset"');
    for (const token of tokens) expect(logged.includes(token) || metrics.includes(token)).toBe(false);
    expect(fx.lines.some((l) => l.msg === 'password reset link sent' && typeof l.requestId === 'string')).toBe(true);
  });
});
