import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { METRICS_PATH } from '@hubspoke/kit';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAnalyticsHarness, type AnalyticsHarness } from './support/analytics-harness.js';
import { jobCreated, jobFinished, loggedIn, notificationFailed, notificationSent, registered, uncontracted } from './support/events.js';

let h: AnalyticsHarness;
let admin: string;
beforeAll(async () => {
  h = await startAnalyticsHarness('analytics_api');
  admin = await h.token(randomUUID(), 'admin');
});
afterAll(() => h?.close());

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const post = async (token: string, body: unknown) => request(h.app).post('/events').set(bearer(token)).send(body as object);

describe('POST /events', () => {
  test('when a user sends a batch, then every event is stored as client.<type> under the caller and counted', async () => {
    const userId = randomUUID();
    const res = await post(await h.token(userId), { events: [
      { type: 'page_view', properties: { path: '/home' } },
      { type: 'checkout.started', occurredAt: new Date(Date.now() - 3_600_000).toISOString() },
    ] });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 2, duplicates: 0 });
    const { rows } = await h.db.query('SELECT type, source, user_id, data FROM events WHERE user_id = $1 ORDER BY type', [userId]);
    expect(rows).toEqual([
      { type: 'client.checkout.started', source: 'client', user_id: userId, data: {} },
      { type: 'client.page_view', source: 'client', user_id: userId, data: { path: '/home' } },
    ]);
  });

  test('when a client retries a batch with its own ids and times, then the events already stored are duplicates, not stored again', async () => {
    const token = await h.token(randomUUID());
    const occurredAt = new Date(Date.now() - 60_000).toISOString();
    const events = [{ id: randomUUID(), type: 'retry_safe', occurredAt }, { id: randomUUID(), type: 'retry_safe', occurredAt }];
    expect((await post(token, { events })).body).toEqual({ accepted: 2, duplicates: 0 });
    expect((await post(token, { events: [...events, { type: 'retry_safe' }] })).body).toEqual({ accepted: 1, duplicates: 2 });
    const noTime = await post(token, { events: [{ id: randomUUID(), type: 'retry_safe' }] });
    expect(noTime.body.error.details.problems).toEqual([{ field: 'events.0.occurredAt', problem: 'is required with an id' }]);
  });

  test('when one event of a batch is invalid, then the whole batch is refused naming each bad event, and nothing is stored', async () => {
    const userId = randomUUID();
    const res = await post(await h.token(userId), { events: [
      { type: 'fine' }, { type: 'Not Valid' }, { type: 'fine', occurredAt: new Date(Date.now() + 3_600_000).toISOString() }, { type: 'fine', extra: 1 },
    ] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('REQUEST.VALIDATION_FAILED');
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toEqual(['events.1.type', 'events.3.extra']);
    const future = await post(await h.token(userId), { events: [{ type: 'fine' }, { type: 'fine', occurredAt: new Date(Date.now() + 3_600_000).toISOString() }] });
    expect(future.body.error.details.problems).toEqual([{ field: 'events.1.occurredAt', problem: 'is in the future' }]);
    expect((await h.db.query('SELECT 1 FROM events WHERE user_id = $1', [userId])).rowCount).toBe(0);
  });

  test('when a batch holds more than 500 events, then it is 400; when the body is over 64 kB, then it is 413', async () => {
    const token = await h.token(randomUUID());
    const tooMany = await post(token, { events: Array.from({ length: 501 }, () => ({ type: 'tick' })) });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.details.problems).toEqual([{ field: 'events', problem: expect.stringMatching(/500/) }]);
    const fiveHundred = await post(token, { events: Array.from({ length: 500 }, () => ({ type: 'tick' })) });
    expect(fiveHundred.body).toEqual({ accepted: 500, duplicates: 0 });
    const tooLarge = await post(token, { events: Array.from({ length: 100 }, () => ({ type: 'tick', properties: { blob: 'x'.repeat(700) } })) });
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('REQUEST.TOO_LARGE');
  });

  test('when no token is sent, then it is 401 and nothing is stored', async () => {
    const res = await request(h.app).post('/events').send({ events: [{ type: 'anonymous' }] });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('AUTH.TOKEN_MISSING');
  });
});

describe('GET /metrics (the series)', () => {
  test('when an admin asks for a type by minute, hour and day, then every bucket is there, zero-filled', async () => {
    const base = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate()) - 86_400_000;
    const type = 'series.probe';
    await h.publishAndWait([
      uncontracted(type, {}, new Date(base + 10 * 60_000 + 5_000)), uncontracted(type, {}, new Date(base + 10 * 60_000 + 50_000)),
      uncontracted(type, {}, new Date(base + 3 * 3_600_000)),
    ]);
    const ask = (interval: string, from: number, to: number) => request(h.app).get('/metrics').set(bearer(admin))
      .query({ type, interval, from: new Date(from).toISOString(), to: new Date(to).toISOString() });

    const minutes = await ask('minute', base + 9 * 60_000 + 30_000, base + 12 * 60_000);
    expect(minutes.status).toBe(200);
    expect(minutes.body.buckets.map((b: { count: number }) => b.count)).toEqual([0, 2, 0]);
    expect(minutes.body.from).toBe(new Date(base + 9 * 60_000).toISOString());
    const hours = await ask('hour', base, base + 4 * 3_600_000);
    expect(hours.body.buckets.map((b: { count: number }) => b.count)).toEqual([2, 0, 0, 1]);
    const days = await ask('day', base - 86_400_000, base + 2 * 86_400_000);
    expect(days.body).toMatchObject({ total: 3, buckets: [{ count: 0 }, { start: new Date(base).toISOString(), count: 3 }, { count: 0 }] });
  });

  test.each([
    ['minute', 1441 * 60_000], ['hour', 745 * 3_600_000], ['day', 367 * 86_400_000],
  ])('when a %s range is past its cap, then it is 400 ANALYTICS.RANGE_TOO_LARGE', async (interval, span) => {
    const to = Date.now();
    const res = await request(h.app).get('/metrics').set(bearer(admin))
      .query({ type: 'user.logged_in', interval, from: new Date(to - span).toISOString(), to: new Date(to).toISOString() });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('ANALYTICS.RANGE_TOO_LARGE');
  });

  test('when the range is empty, malformed or its minutes are past the retention, then it is a 400 saying which', async () => {
    const now = new Date().toISOString();
    const ask = (query: Record<string, string>) => request(h.app).get('/metrics').set(bearer(admin)).query(query);
    expect((await ask({ type: 'user.logged_in', from: now, to: now })).body.error.code).toBe('ANALYTICS.INVALID_RANGE');
    expect((await ask({ type: 'user.logged_in', from: 'yesterday', to: now })).body.error.details.problems[0].field).toBe('from');
    expect((await ask({ type: 'user.logged_in', interval: 'week', from: now, to: now })).body.error.details.problems[0].field).toBe('interval');
    const old = await ask({ type: 'user.logged_in', interval: 'hour', from: new Date(Date.now() - 200 * 86_400_000).toISOString(), to: new Date(Date.now() - 199 * 86_400_000).toISOString() });
    expect(old.body.error.code).toBe('ANALYTICS.RANGE_NOT_RETAINED');
  });

  test('when the type is missing, then it is a JSON 400 naming it, not the Prometheus text; /metrics/series is no route', async () => {
    const res = await request(h.app).get('/metrics').set(bearer(admin)).query({ from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date().toISOString() });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'REQUEST.VALIDATION_FAILED' } } });
    expect(res.body.error.details.problems.map((p: { field: string }) => p.field)).toEqual(['type']);
    expect(res.text).not.toContain('# HELP');
    expect((await request(h.app).get('/metrics/series').set(bearer(admin))).status).toBe(404);
  });

  test('when a user who is not an admin asks, then it is 403', async () => {
    const res = await request(h.app).get('/metrics').set(bearer(await h.token(randomUUID())))
      .query({ type: 'user.logged_in', from: new Date(Date.now() - 86_400_000).toISOString(), to: new Date().toISOString() });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('AUTH.FORBIDDEN');
  });
});

describe('GET /reports/summary', () => {
  test('when jobs finish as succeeded, partially_failed and failed, then the day counts each under the status its job.finished carries', async () => {
    const day = new Date(Date.now() - 5 * 86_400_000);
    const ids = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    await h.publishAndWait([
      ...ids.map((id) => jobCreated(id, day)),
      jobFinished('succeeded', ids[0], day), jobFinished('partially_failed', ids[1], day), jobFinished('partially_failed', ids[2], day),
      jobFinished('failed', ids[3], day),
    ]);
    const date = day.toISOString().slice(0, 10);
    const res = await request(h.app).get('/reports/summary').set(bearer(admin)).query({ from: date, to: date });
    expect(res.status).toBe(200);
    expect(res.body.days[0].jobs).toEqual({ created: 4, succeeded: 1, partially_failed: 2, failed: 1, cancelled: 0 });
  });

  test('when an admin asks for a range past 366 days or backwards, then it is 400; a user gets 403', async () => {
    const ask = (token: string, from: string, to: string) => request(h.app).get('/reports/summary').set(bearer(token)).query({ from, to });
    expect((await ask(admin, '2024-01-01', '2025-01-01')).body.error.code).toBe('ANALYTICS.RANGE_TOO_LARGE');
    expect((await ask(admin, '2024-01-02', '2024-01-01')).body.error.code).toBe('ANALYTICS.INVALID_RANGE');
    expect((await ask(admin, '2024-02-30', '2024-03-01')).body.error.details.problems[0].field).toBe('from');
    expect((await ask(await h.token(randomUUID()), '2024-01-01', '2024-01-02')).status).toBe(403);
    expect((await ask(admin, '2024-01-01', '2024-12-31')).body.days).toHaveLength(366);
  });
});

describe('GET /users/me/activity', () => {
  test('when a user reads their activity, then they get their own events only, newest first, a page at a time', async () => {
    const userId = randomUUID();
    const hour = 3_600_000;
    await h.publishAndWait([registered(userId, new Date(Date.now() - 3 * hour)), loggedIn(userId, new Date(Date.now() - 2 * hour)), loggedIn(randomUUID())]);
    const token = await h.token(userId);
    expect((await post(token, { events: [{ type: 'page_view', occurredAt: new Date(Date.now() - hour).toISOString() }] })).status).toBe(202);

    const first = await request(h.app).get('/users/me/activity').set(bearer(token)).query({ limit: '2' });
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('private, no-store');
    expect(first.body.events.map((e: { type: string }) => e.type)).toEqual(['client.page_view', 'user.logged_in']);
    const second = await request(h.app).get('/users/me/activity').set(bearer(token)).query({ limit: '2', cursor: first.body.nextCursor });
    expect(second.body).toMatchObject({ events: [{ type: 'user.registered', source: 'auth', data: { userId } }], nextCursor: null });
    expect((await request(h.app).get('/users/me/activity').set(bearer(token)).query({ cursor: 'forged' })).body.error.code).toBe('ANALYTICS.INVALID_CURSOR');
  });
});

describe('GET /internal/metrics (Prometheus)', () => {
  test('when signups, logins and notification outcomes are ingested, then the business metrics count them, a duplicate once', async () => {
    const read = async () => (await request(h.app).get(METRICS_PATH)).text;
    const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const before = await read();
    const userId = randomUUID();
    const login = loggedIn(userId);
    await h.publishAndWait([registered(userId), login, login, notificationSent(userId), notificationFailed(userId)]);
    const after = await read();
    expect(value(after, 'analytics_signups_total{service="analytics"}') - value(before, 'analytics_signups_total{service="analytics"}')).toBe(1);
    expect(value(after, 'analytics_logins_total{service="analytics"}') - value(before, 'analytics_logins_total{service="analytics"}')).toBe(1);
    expect(value(after, 'analytics_notifications_total{outcome="failed",service="analytics"}')).toBe(1);
    expect(value(after, 'analytics_active_users{service="analytics"}')).toBeGreaterThanOrEqual(1);
  });
});
