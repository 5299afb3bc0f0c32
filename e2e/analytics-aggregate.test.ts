import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connectBus, createLogger, createPool, METRICS_PATH, type Bus, type Envelope, type Pool } from '@hubspoke/kit';
import { eventually, testAmqpUrl } from '@hubspoke/kit/testing';
import { countsOf, recountOf } from '../spokes/analytics-service/test/support/counts.js';
import { jobFinished, loggedIn, notificationSent, registered } from '../spokes/analytics-service/test/support/events.js';
import { apiClient, SPOKES, startPlatform, type Platform } from './support/platform.js';

// Client → hub → the analytics spoke serving `analytics.aggregate`, all real processes: the hub's jobs
// dispatch one task per item over RabbitMQ, the spoke recounts the item's days and answers.
const ADMIN = { email: 'aggregate-admin@example.com', password: 'a-long-aggregate-admin-passphrase' };
const DAY = 86_400_000;
const FINAL = ['succeeded', 'partially_failed', 'failed', 'cancelled'];

let platform: Platform;
let bus: Bus;
let db: Pool;
let admin: string;
const api = apiClient(() => platform.url);
const logger = createLogger({ service: 'script', level: 'silent' });

beforeAll(async () => {
  platform = await startPlatform({ spokes: [SPOKES.auth, SPOKES.analytics], admin: ADMIN });
  bus = await connectBus({ url: testAmqpUrl(), service: 'script', prefix: platform.prefix, logger });
  db = createPool({ connectionString: platform.databases.analytics!, applicationName: 'e2e' }, logger);
  // The platform is up once the hub routes to the spoke: the same registry record declares its task types.
  admin = (await api('POST', '/auth/login', { body: ADMIN })).body.accessToken as string;
}, 120_000);

afterAll(async () => {
  await db?.end();
  await bus?.close();
  await platform?.stop();
}, 30_000);

/** `YYYY-MM-DD`, `n` UTC days before today. */
const daysAgo = (n: number) => new Date(Date.now() - n * DAY).toISOString().slice(0, 10);
/** One item per day of [first, last] days ago, as the README shows. */
const onePerDay = (first: number, last: number) =>
  Array.from({ length: first - last + 1 }, (_, i) => ({ key: daysAgo(first - i), input: { from: daysAgo(first - i), to: daysAgo(first - i - 1) } }));

async function runJob(token: string, body: Record<string, unknown>) {
  const created = await api('POST', '/hub/jobs', { token, body: { type: 'analytics.aggregate', ...body } });
  expect(created.status).toBe(202);
  const id = created.body.id as string;
  const job = await eventually(async () => {
    const res = await api('GET', `/hub/jobs/${id}`, { token });
    return FINAL.includes(res.body.status as string) ? res.body : undefined;
  }, 60_000, 200);
  const items = (await api('GET', `/hub/jobs/${id}/items`, { token })).body.items as { key: string; status: string; attempts: number; result?: unknown; lastError?: string }[];
  return { job, items: Object.fromEntries(items.map((item) => [item.key, item])) };
}

async function stored(envelopes: Envelope[]) {
  await Promise.all(envelopes.map((envelope) => bus.publish(envelope)));
  const ids = envelopes.map((e) => e.id);
  await eventually(async () => (await db.query('SELECT count(*)::int AS n FROM events WHERE id = ANY($1::uuid[])', [ids])).rows[0].n === ids.length, 20_000, 100);
}

describe('analytics.aggregate jobs through the hub', () => {
  test('when the counts of several days were corrupted, then an admin job with one item per day rebuilds them equal to a full recount, and again the same', async () => {
    const users = [randomUUID(), randomUUID(), randomUUID()];
    const at = (n: number, minute: number) => new Date(Date.parse(`${daysAgo(n)}T00:00:00Z`) + minute * 60_000);
    await stored([
      ...users.flatMap((user, i) => [registered(user, at(4, 10 + i)), loggedIn(user, at(3, 600 + i)), loggedIn(user, at(1, 1400))]),
      notificationSent(users[0], at(2, 30)), jobFinished('partially_failed', randomUUID(), at(2, 45)), jobFinished('cancelled', randomUUID(), at(4, 5)),
    ]);
    const days = { from: daysAgo(4), to: daysAgo(0) };
    const summary = async () => (await api('GET', `/analytics/reports/summary?from=${daysAgo(4)}&to=${daysAgo(1)}`, { token: admin })).body;
    const kept = await countsOf(db, days);
    const keptSummary = await summary();
    expect(kept).toEqual(await recountOf(db, days));

    await db.query(`UPDATE counts_day SET count = count * 3, status = '' WHERE day >= $1 AND day < $2`, [days.from, days.to]);
    await db.query(`DELETE FROM counts_minute WHERE bucket >= $1 AND bucket < $2`, [days.from, days.to]);
    await db.query(`DELETE FROM active_users_day WHERE day >= $1 AND day < $2`, [days.from, days.to]);
    expect(await countsOf(db, days)).not.toEqual(kept);

    const { job, items } = await runJob(admin, { items: onePerDay(4, 1), maxParallel: 4 });
    expect(job).toMatchObject({ status: 'succeeded', total: 4, succeeded: 4, failed: 0 });
    expect(items[daysAgo(4)]).toMatchObject({ attempts: 1, result: { from: daysAgo(4), to: daysAgo(3), days: 1, events: 4 } });
    expect(items[daysAgo(2)]).toMatchObject({ result: { days: 1, events: 2 } });
    expect(await countsOf(db, days)).toEqual(kept);
    expect(await summary()).toEqual(keptSummary);
    expect((keptSummary.days as { jobs: object }[]).map((day) => day.jobs)).toEqual([
      { created: 0, succeeded: 0, partially_failed: 0, failed: 0, cancelled: 1 }, expect.objectContaining({ cancelled: 0, partially_failed: 0 }),
      expect.objectContaining({ cancelled: 0, partially_failed: 1 }), expect.objectContaining({ cancelled: 0, partially_failed: 0 }),
    ]);

    const again = await runJob(admin, { items: onePerDay(4, 1), maxParallel: 2 });
    expect(again.job).toMatchObject({ status: 'succeeded', succeeded: 4 });
    expect(await countsOf(db, days)).toEqual(kept);
  }, 90_000);

  test('when a plain user submits analytics.aggregate, then the hub answers 403 and creates no job', async () => {
    const email = `plain-${randomUUID().slice(0, 8)}@example.com`;
    const password = 'a-long-plain-user-passphrase';
    expect((await api('POST', '/auth/register', { body: { email, password, name: 'Plain' } })).status).toBe(201);
    const user = (await api('POST', '/auth/login', { body: { email, password } })).body.accessToken as string;
    const res = await api('POST', '/hub/jobs', { token: user, body: { type: 'analytics.aggregate', items: onePerDay(1, 1) } });
    expect(res.status).toBe(403);
    expect(res.body.error?.code).toBe('JOB.TYPE_NOT_ALLOWED');
    expect((await api('GET', '/hub/jobs', { token: user })).body.jobs).toEqual([]);
  });

  test('when items have a backwards, too long or unretained range, then each fails at its first attempt, the good one succeeds, and the summary counts a partially_failed job', async () => {
    const { job, items } = await runJob(admin, {
      items: [
        ...onePerDay(1, 1),
        { key: 'backwards', input: { from: daysAgo(1), to: daysAgo(3) } },
        { key: 'too-long', input: { from: daysAgo(80), to: daysAgo(-320) } },
        { key: 'not-retained', input: { from: daysAgo(200), to: daysAgo(199) } },
      ],
      retry: { limit: 3, backoffMs: 100, maxBackoffMs: 200 },
    });
    expect(job).toMatchObject({ status: 'partially_failed', succeeded: 1, failed: 3, retries: 0 });
    expect(items).toMatchObject({
      [daysAgo(1)]: { status: 'succeeded', attempts: 1 },
      'backwards': { status: 'failed', attempts: 1, lastError: expect.stringContaining('ANALYTICS.INVALID_RANGE') },
      'too-long': { status: 'failed', attempts: 1, lastError: expect.stringContaining('ANALYTICS.RANGE_TOO_LARGE') },
      'not-retained': { status: 'failed', attempts: 1, lastError: expect.stringContaining('ANALYTICS.RANGE_NOT_RETAINED') },
    });
    // Every job of this file so far finished today: two succeeded, this one partially failed.
    const today = await eventually(async () => {
      const [day] = (await api('GET', `/analytics/reports/summary?from=${daysAgo(0)}&to=${daysAgo(0)}`, { token: admin })).body.days as { jobs: Record<string, number> }[];
      return day?.jobs.partially_failed === 1 && day.jobs.succeeded === 2 ? day : undefined;
    }, 20_000, 200);
    expect(today.jobs).toEqual({ created: 3, succeeded: 2, partially_failed: 1, failed: 0, cancelled: 0 });
  }, 60_000);

  test('when an admin asks /api/analytics/metrics with the issue\'s query, then the hub routes it to the zero-filled series; the spoke\'s Prometheus text stays internal', async () => {
    const query = `type=user.logged_in&interval=day&from=${daysAgo(4)}T00:00:00Z&to=${daysAgo(0)}T00:00:00Z`;
    const series = await api('GET', `/analytics/metrics?${query}`, { token: admin });
    expect(series).toMatchObject({ status: 200, body: { type: 'user.logged_in', interval: 'day', from: `${daysAgo(4)}T00:00:00.000Z`, to: `${daysAgo(0)}T00:00:00.000Z`, total: 6 } });
    expect((series.body.buckets as { count: number }[]).map((b) => b.count)).toEqual([0, 3, 0, 3]);

    for (const path of [`/analytics/internal/metrics?${query}`, '/analytics/internal/metrics', '/analytics/INTERNAL/Metrics/', '/analytics/%69nternal/metrics', `/analytics/metrics/series?${query}`]) {
      const res = await api('GET', path, { token: admin });
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 404, code: 'ROUTE.NOT_FOUND' });
    }
    // Prometheus, reaching the instance itself, still reads it there.
    const [analytics] = platform.instances('analytics');
    const scraped = await fetch(`${analytics!.url}${METRICS_PATH}`);
    expect(scraped.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await scraped.text()).toMatch(/^analytics_logins_total\{service="analytics"\} \d+$/m);
  });
});
