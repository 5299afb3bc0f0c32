import { decodeJwt } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@hubspoke/kit/testing';
import { apiClient, SPOKES, startPlatform, type Platform, type SpokeSpec } from '../../../e2e/support/platform.js';
import { startSmtpCatcher, type CaughtMail, type SmtpCatcher } from '../../notification-service/test/support/smtp-catcher.js';

// Client → hub → auth spoke → (outbox, tasks exchange) → notification spoke → an SMTP server of the test's own;
// every service a real process. Links open a page of the web app; the token is in the fragment.
const PASSWORD = 'an account-emails passphrase';
const NEW_PASSWORD = 'a brand new passphrase';
const LINK_BASE = 'https://app.example.test/account';

let platform: Platform;
let smtp: SmtpCatcher;
const api = apiClient(() => platform.url);
let clients = 0;
/** Every secret the tests saw (links and their tokens): checked against logs and databases at the end. */
const secrets: string[] = [];

beforeAll(async () => {
  smtp = await startSmtpCatcher();
  const auth: SpokeSpec = {
    ...SPOKES.auth,
    // A link of each kind may go out at any time here (the interval has its own test on the spoke).
    env: (options) => ({ ...SPOKES.auth.env!(options), TRUSTED_PROXY_HOPS: '2', ACCOUNT_LINK_BASE_URL: LINK_BASE, ACCOUNT_EMAIL_INTERVAL: '0' }),
  };
  const notification: SpokeSpec = {
    name: 'notification', prefix: 'notifications', queues: ['notification.user-registered', 'notification.user-deleted', 'notification.account-email'],
    env: () => ({ SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), SEND_POLL_INTERVAL_MS: '50' }),
  };
  // The hub trusts one proxy hop, so each test can be its own client address and the per-IP route limits
  // (register and forgot: 5 a minute) never add up across tests.
  platform = await startPlatform({ spokes: [auth, notification], hubEnv: { TRUSTED_PROXY_HOPS: '1' } });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  await smtp?.close();
}, 30_000);

/** A client with its own address. */
function client() {
  const address = `198.51.100.${++clients}`;
  return (method: string, path: string, options: { token?: string; body?: unknown } = {}) =>
    api(method, path, { ...options, headers: { 'x-forwarded-for': address } });
}

async function mailTo(address: string, subject: RegExp, after = 0): Promise<CaughtMail> {
  return eventually(() => smtp.messages.slice(after).find((m) => m.to.includes(address) && subject.test(m.subject)), 20_000, 50);
}

function linkIn(mail: CaughtMail, page: string): { link: string; token: string } {
  const match = new RegExp(`(${LINK_BASE}/${page}#token=([A-Za-z0-9_-]{43}))`).exec(mail.text);
  if (!match) throw new Error(`no ${page} link in the email:\n${mail.text}`);
  secrets.push(match[1]!, match[2]!);
  return { link: match[1]!, token: match[2]! };
}

const claims = (accessToken: unknown) => decodeJwt(accessToken as string);
/** The same token with one character changed, as a tampered link would carry it. */
const tampered = (token: string) => `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;

async function query<T extends pg.QueryResultRow>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const db = new pg.Client({ connectionString: platform.databases[database] });
  await db.connect();
  try {
    return (await db.query<T>(sql, params)).rows;
  } finally {
    await db.end();
  }
}

describe('email verification through the hub', () => {
  test('when a new user follows the emailed link, then the email is verified, a fresh access token says so, and the link works once', async () => {
    const call = client();
    const email = `verify-${platform.prefix}@example.com`;
    const registered = await call('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Vera' } });
    expect(registered.status).toBe(201);
    expect(registered.body.user).toMatchObject({ email, emailVerified: false });
    expect(claims(registered.body.accessToken)).toMatchObject({ email_verified: false });

    const mail = await mailTo(email, /^Confirm your email address/);
    const { token } = linkIn(mail, 'verify-email');
    expect(mail.text).toContain('Hello Vera');

    const verified = await call('POST', '/auth/email/verify', { body: { token } });
    expect(verified).toMatchObject({ status: 200, body: { email, emailVerified: true } });
    const refreshed = await call('POST', '/auth/refresh', { body: { refreshToken: registered.body.refreshToken } });
    expect(refreshed.status).toBe(200);
    expect(claims(refreshed.body.accessToken)).toMatchObject({ email_verified: true });
    const login = await call('POST', '/auth/login', { body: { email, password: PASSWORD } });
    expect(login.body.user).toMatchObject({ emailVerified: true });

    const again = await call('POST', '/auth/email/verify', { body: { token } });
    expect([again.status, again.body.error?.code]).toEqual([400, 'AUTH.LINK_USED']);
    for (const bad of [tampered(token), 'not-a-token']) {
      const refused = await call('POST', '/auth/email/verify', { body: { token: bad } });
      expect([refused.status, refused.body.error?.code]).toEqual([400, 'AUTH.LINK_INVALID']);
      expect(JSON.stringify(refused.body)).not.toContain(token);
    }
    const resend = await call('POST', '/auth/email/verify/request', { token: login.body.accessToken as string });
    expect([resend.status, resend.body.error?.code]).toEqual([409, 'AUTH.EMAIL_ALREADY_VERIFIED']);
  });

  test('when a signed-in user asks for a new link, then it is emailed and replaces the first one', async () => {
    const call = client();
    const email = `resend-${platform.prefix}@example.com`;
    const registered = await call('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Rea' } });
    const first = linkIn(await mailTo(email, /^Confirm your email address/), 'verify-email');
    const before = smtp.messages.length;

    expect(await call('POST', '/auth/email/verify/request', {})).toMatchObject({ status: 401 });
    const resend = await call('POST', '/auth/email/verify/request', { token: registered.body.accessToken as string });
    expect(resend).toMatchObject({ status: 202, body: { email } });
    const second = linkIn(await mailTo(email, /^Confirm your email address/, before), 'verify-email');
    expect(second.token).not.toBe(first.token);

    const replaced = await call('POST', '/auth/email/verify', { body: { token: first.token } });
    expect([replaced.status, replaced.body.error?.code]).toEqual([400, 'AUTH.LINK_INVALID']);
    expect((await call('POST', '/auth/email/verify', { body: { token: second.token } })).status).toBe(200);
  });
});

describe('password reset through the hub', () => {
  test('when forgot is asked for an unknown and a known email, then both get the same 202 and body, and only the account gets an email', async () => {
    const call = client();
    const known = `known-${platform.prefix}@example.com`;
    const unknown = `nobody-${platform.prefix}@example.com`;
    expect((await call('POST', '/auth/register', { body: { email: known, password: PASSWORD, name: 'Kim' } })).status).toBe(201);
    const auth = platform.service('auth');
    const skippedBefore = auth.logs.filter((l) => l.msg === 'password reset not sent: no enabled account has the email').length;

    const forUnknown = await call('POST', '/auth/password/forgot', { body: { email: unknown } });
    const forKnown = await call('POST', '/auth/password/forgot', { body: { email: known } });
    expect(forUnknown.status).toBe(202);
    expect(forKnown).toEqual({ ...forUnknown, headers: forKnown.headers });
    expect(forUnknown.body).toEqual({ message: expect.stringContaining('If an account has this email address') });

    // The unknown address was looked up (and dropped) before the known one's email could arrive.
    await eventually(() => auth.logs.filter((l) => l.msg === 'password reset not sent: no enabled account has the email').length > skippedBefore, 10_000);
    linkIn(await mailTo(known, /^Reset your hubspoke password/), 'reset-password');
    expect(smtp.messages.filter((m) => m.to.includes(unknown))).toEqual([]);
    expect(JSON.stringify(auth.logs)).not.toContain(unknown);
  });

  test('when the owner resets with the emailed link, then every old session ends, only the new password works, and a password-changed email arrives', async () => {
    const call = client();
    const email = `reset-${platform.prefix}@example.com`;
    const registered = await call('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Remy' } });
    const otherDevice = await call('POST', '/auth/login', { body: { email, password: PASSWORD } });
    expect((await call('POST', '/auth/password/forgot', { body: { email } })).status).toBe(202);
    const mail = await mailTo(email, /^Reset your hubspoke password/);
    const { token } = linkIn(mail, 'reset-password');
    expect(mail.text).toMatch(/expires in 30 minutes/);

    const weak = await call('POST', '/auth/password/reset', { body: { token, password: 'short' } });
    expect([weak.status, weak.body.error?.code]).toEqual([400, 'REQUEST.VALIDATION_FAILED']);
    const wrong = await call('POST', '/auth/password/reset', { body: { token: tampered(token), password: NEW_PASSWORD } });
    expect([wrong.status, wrong.body.error?.code]).toEqual([400, 'AUTH.LINK_INVALID']);

    const before = smtp.messages.length;
    expect((await call('POST', '/auth/password/reset', { body: { token, password: NEW_PASSWORD } })).status).toBe(204);
    for (const refreshToken of [registered.body.refreshToken, otherDevice.body.refreshToken]) {
      const refused = await call('POST', '/auth/refresh', { body: { refreshToken } });
      expect([refused.status, refused.body.error?.code]).toEqual([401, 'AUTH.REFRESH_INVALID']);
    }
    const old = await call('POST', '/auth/login', { body: { email, password: PASSWORD } });
    expect([old.status, old.body.error?.code]).toEqual([401, 'AUTH.INVALID_CREDENTIALS']);
    const fresh = await call('POST', '/auth/login', { body: { email, password: NEW_PASSWORD } });
    expect(fresh.status).toBe(200);
    // The link reached the address, so the reset proved it too.
    expect(claims(fresh.body.accessToken)).toMatchObject({ email_verified: true });
    expect((await mailTo(email, /^Your hubspoke password was changed/, before)).text).toContain('every session was signed out');

    const reused = await call('POST', '/auth/password/reset', { body: { token, password: 'yet another passphrase' } });
    expect([reused.status, reused.body.error?.code]).toEqual([400, 'AUTH.LINK_USED']);
  });

  test('when a second link is asked for, then the first is refused; when a link has expired, then it is refused as expired', async () => {
    const call = client();
    const email = `twice-${platform.prefix}@example.com`;
    await call('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Tom' } });
    await call('POST', '/auth/password/forgot', { body: { email } });
    const first = linkIn(await mailTo(email, /^Reset your hubspoke password/), 'reset-password');
    const before = smtp.messages.length;
    await call('POST', '/auth/password/forgot', { body: { email } });
    const second = linkIn(await mailTo(email, /^Reset your hubspoke password/, before), 'reset-password');

    const replaced = await call('POST', '/auth/password/reset', { body: { token: first.token, password: NEW_PASSWORD } });
    expect([replaced.status, replaced.body.error?.code]).toEqual([400, 'AUTH.LINK_INVALID']);
    // Thirty minutes pass.
    await query('auth', `UPDATE account_tokens SET expires_at = now() - interval '1 second' WHERE user_id = (SELECT user_id FROM credentials WHERE email = $1)`, [email]);
    const expired = await call('POST', '/auth/password/reset', { body: { token: second.token, password: NEW_PASSWORD } });
    expect([expired.status, expired.body.error?.code]).toEqual([400, 'AUTH.LINK_EXPIRED']);
    expect((await call('POST', '/auth/login', { body: { email, password: PASSWORD } })).status).toBe(200);
  });
});

describe('where the links went', () => {
  test('when the flows above have run, then no link or token is in any log line of any service, in the notification database, or in the auth outbox', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(12);
    const tokens = secrets.filter((s) => !s.startsWith('https://'));
    const logs = Object.entries(platform.services).map(([name, service]) => ({ name, text: JSON.stringify(service.logs) + service.stderr() }));
    expect(logs.map((l) => l.name).sort()).toEqual(['auth', 'hub', 'notification']);
    for (const { name, text } of logs) {
      expect(text.length, name).toBeGreaterThan(1_000);
      for (const token of tokens) expect(text.includes(token), `${name} logged a token`).toBe(false);
    }

    // Every account email was sent, and its body erased with its outcome; the subject and history stay.
    const accountMails = await eventually(async () => {
      const rows = await query<{ template: string; status: string; body_text: string; body_html: string }>('notification',
        `SELECT template, status, body_text, body_html FROM notifications WHERE template IN ('verify-email', 'password-reset', 'password-changed')`);
      return rows.length >= 8 && rows.every((r) => r.status === 'sent') && rows;
    }, 15_000, 100);
    for (const row of accountMails) expect([row.body_text, row.body_html]).toEqual(Array(2).fill('[erased after sending: it held a one-time link]'));
    const stored = JSON.stringify(await query('notification', 'SELECT * FROM notifications'));
    for (const token of tokens) expect(stored.includes(token)).toBe(false);
    // The welcome email is not an account secret: it is kept as sent.
    expect(stored).toContain('your hubspoke account is ready');

    // The commands left the auth outbox as soon as they were relayed; the events stay until pruning.
    const outbox = await eventually(async () => {
      const rows = await query<{ type: string; sent: boolean }>('auth', 'SELECT type, sent_at IS NOT NULL AS sent FROM outbox');
      return rows.every((r) => r.sent) && rows;
    }, 10_000);
    expect(outbox.map((r) => r.type)).not.toContain('notification.send_account_email');
    expect(outbox.map((r) => r.type)).toContain('user.registered');
  });
});
