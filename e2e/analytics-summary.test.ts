import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { JobCreatedV1, JobFinishedV1, NotificationFailedV1, NotificationSentV1 } from '@hubspoke/contracts';
import { connectBus, createEvent, createLogger, type Bus } from '@hubspoke/kit';
import { eventually, testAmqpUrl } from '@hubspoke/kit/testing';
import { apiClient, SPOKES, startPlatform, type Platform } from './support/platform.js';

// Client → hub → auth, user and analytics spokes, all real processes; the notification and job events come
// straight onto the bus under their type names, as their spokes (not in this repository yet) will publish them.
const ADMIN = { email: 'analytics-admin@example.com', password: 'a-long-analytics-admin-passphrase' };
const PASSWORD = 'a-long-analytics-passphrase';

let platform: Platform;
let bus: Bus;
const api = apiClient(() => platform.url);

beforeAll(async () => {
  platform = await startPlatform({ spokes: [SPOKES.auth, SPOKES.user, SPOKES.analytics], admin: ADMIN });
  bus = await connectBus({ url: testAmqpUrl(), service: 'script', prefix: platform.prefix, logger: createLogger({ service: 'script', level: 'silent' }) });
}, 120_000);

afterAll(async () => {
  await bus?.close();
  await platform?.stop();
}, 30_000);

const today = () => new Date().toISOString().slice(0, 10);

describe('the analytics summary through the hub', () => {
  test('when a day of activity is scripted (signups, logins, client events, notifications, a job), then the day\'s summary counts it exactly', async () => {
    const admin = (await api('POST', '/auth/login', { body: ADMIN })).body.accessToken as string;
    const summary = async () => (await api('GET', `/analytics/reports/summary?from=${today()}&to=${today()}`, { token: admin })).body.days as Record<string, unknown>[];
    // The admin's own login is the first thing counted; whether the admin's registration at auth's start
    // reached analytics depends on which spoke declared its queue first, so signups are compared from here.
    const before = await eventually(async () => {
      const [day] = await summary();
      return day && day.logins === 1 ? day : undefined;
    }, 15_000, 100);

    const users = [];
    for (const name of ['Ana', 'Ben', 'Cy']) {
      const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@example.com`;
      expect((await api('POST', '/auth/register', { body: { email, password: PASSWORD, name } })).status).toBe(201);
      const login = await api('POST', '/auth/login', { body: { email, password: PASSWORD } });
      users.push({ id: (login.body.user as { id: string }).id, token: login.body.accessToken as string });
    }
    const sent = await api('POST', '/analytics/events', { token: users[0]!.token, body: { events: [{ type: 'page_view' }, { type: 'page_view' }] } });
    expect(sent.status).toBe(202);
    const notification = (ownerId: string) => ({ notificationId: randomUUID(), ownerId, channel: 'email' as const, template: 'welcome', attempts: 1 });
    await bus.publish(createEvent(NotificationSentV1, 'notification', { ...notification(users[0]!.id), provider: 'smtp' }));
    await bus.publish(createEvent(NotificationSentV1, 'notification', { ...notification(users[1]!.id), provider: 'smtp' }));
    await bus.publish(createEvent(NotificationFailedV1, 'notification', { ...notification(users[2]!.id), reason: 'permanent' }));
    const jobId = randomUUID();
    const job = { jobId, taskType: 'analytics.aggregate', creatorId: users[0]!.id, total: 1 };
    await bus.publish(createEvent(JobCreatedV1, 'hub', job));
    await bus.publish(createEvent(JobFinishedV1, 'hub', { ...job, status: 'succeeded', succeeded: 1, failed: 0, cancelled: 0, retries: 0, durationMs: 10 }));

    const expected = {
      day: today(), signups: Number(before.signups) + 3, logins: 4, activeUsers: 4,
      notifications: { sent: 2, failed: 1 }, jobs: { created: 1, finished: 1 },
    };
    const after = await eventually(async () => {
      const [day] = await summary();
      return isDeepStrictEqual(day, expected) ? day : undefined;
    }, 20_000, 200).catch(async () => (await summary())[0]);
    expect(after).toEqual(expected);

    const own = await api('GET', '/analytics/users/me/activity', { token: users[0]!.token });
    expect((own.body.events as { type: string }[]).map((e) => e.type)).toEqual(expect.arrayContaining(['client.page_view', 'user.logged_in', 'user.registered']));
    expect((await api('GET', `/analytics/reports/summary?from=${today()}&to=${today()}`, { token: users[0]!.token })).status).toBe(403);
  }, 90_000);
});
