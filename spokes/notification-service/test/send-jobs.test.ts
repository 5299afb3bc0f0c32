import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createStaticKeySource, createTokenVerifier } from '@hubspoke/kit';
import {
  createTestDatabase, deleteTestTopology, eventually, metricValue, signTestToken, testAmqpUrl, TEST_AUDIENCE, TEST_ISSUER, type TestDatabase,
} from '@hubspoke/kit/testing';
import { allItems, hubEnvFor, jobsClient, spokeVisible, startJobsHub, type Hub } from '../../../hub-orchestrator/test/support/jobs-world.js';
import { startNotificationHarness, type NotificationHarness } from './support/notification-harness.js';

/**
 * Jobs of `notification.send` submitted to a real hub (in-process, its own database), dispatched over RabbitMQ
 * to the notification spoke, which sends to a real SMTP server: what a client of `POST /api/hub/jobs` sees.
 */
// Well below what hub and spoke manage together on a busy test machine (about 60 items a second unthrottled), so
// the limit, not the machine, sets the pace.
const EMAILS_PER_SECOND = 20;
const RECIPIENTS = 300;

let h: NotificationHarness;
let hubDb: TestDatabase;
let hub: Hub;

beforeAll(async () => {
  h = await startNotificationHarness('notification_jobs', { env: { EMAIL_SENDS_PER_SECOND: String(EMAILS_PER_SECOND) } });
  hubDb = await createTestDatabase('notification_jobs_hub');
  const verifier = createTokenVerifier({ keys: createStaticKeySource(h.keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  hub = await startJobsHub(hubEnvFor({ prefix: h.prefix, databaseUrl: hubDb.url, amqpUrl: testAmqpUrl() }), { verifier });
  await spokeVisible(hub);
}, 60_000);

afterAll(async () => {
  await hub?.shutdown('test finished');
  if (hub) await deleteTestTopology(h.prefix, hub.queues);
  await hubDb?.drop();
  await h?.close();
});

const notice = (title: string) => ({ title, message: 'Sent by a job' });

describe('notification.send jobs through the hub', () => {
  test(`when an admin's job sends ${RECIPIENTS} emails under a provider limit of ${EMAILS_PER_SECOND} a second, then the spoke throttles, the hub paces the job, every item succeeds and each address gets exactly one email`, async () => {
    const admin = jobsClient(hub.url, await signTestToken(h.keys, { sub: randomUUID(), role: 'admin' }));
    const throttlesBefore = await metricValue(hub, 'hub_job_throttles_total{type="notification.send",service="hub"}');
    const keys = Array.from({ length: RECIPIENTS }, (_, i) => `r${String(i).padStart(3, '0')}`);
    // More in flight than a second's worth, so the hub always offers more than the spoke may send.
    const created = await admin.create({
      type: 'notification.send', maxParallel: 50,
      items: keys.map((key) => ({ key, input: { channel: 'email', to: `${key}@campaign.example`, template: 'notice', data: notice(`Campaign ${key}`) } })),
    });
    expect(created.status).toBe(202);

    const job = await admin.finished(created.body.id as string, 90_000);
    expect(job).toMatchObject({ status: 'succeeded', total: RECIPIENTS, succeeded: RECIPIENTS, failed: 0, cancelled: 0, pending: 0, running: 0 });
    const throttles = (await metricValue(hub, 'hub_job_throttles_total{type="notification.send",service="hub"}')) - throttlesBefore;
    expect(throttles).toBeGreaterThan(0);
    expect(job.retries).toBeGreaterThanOrEqual(throttles);
    // Admitted at the limit: a second's burst at once, the rest one token at a time.
    const pacedMs = ((RECIPIENTS - EMAILS_PER_SECOND) / EMAILS_PER_SECOND) * 1000;
    expect(job.durationMs).toBeGreaterThanOrEqual(pacedMs * 0.9);
    expect(job.durationMs).toBeLessThan(pacedMs * 6);

    const items = await allItems(admin, job.id as string);
    expect(items.map((item) => item.status)).toEqual(keys.map(() => 'succeeded'));
    const ids = new Set(items.map((item) => (item.result as { notificationId: string }).notificationId));
    expect(ids.size).toBe(RECIPIENTS);

    const fromJob = () => h.smtp.messages.filter((m) => m.to.some((to) => to.endsWith('@campaign.example')));
    await eventually(() => fromJob().length >= RECIPIENTS, 30_000);
    const mails = fromJob();
    expect(mails).toHaveLength(RECIPIENTS);
    expect(new Set(mails.map((m) => m.to.join())).size).toBe(RECIPIENTS);
    expect(new Set(mails.map((m) => m.to[0]))).toEqual(new Set(keys.map((key) => `${key}@campaign.example`)));
    // Sent at the limit: the emails span the paced time, and no second carries more than a burst plus a
    // second's worth (a quarter more for the jitter between a token taken and an email read).
    const times = mails.map((m) => m.at).sort((a, b) => a - b);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(pacedMs * 0.9);
    const busiest = Math.max(...times.map((start) => times.filter((t) => t >= start && t < start + 1000).length));
    expect(busiest).toBeLessThanOrEqual(2 * EMAILS_PER_SECOND * 1.25);

    // Each notification went out once, on its first provider call (the SMTP server counts a message before its
    // reply, so the last outcomes may still be being recorded).
    const outcomes = async () => (await h.db.query<{ status: string; attempts: number; count: string }>(
      `SELECT status, attempts, count(*) FROM notifications WHERE dedupe_key LIKE $1 GROUP BY status, attempts`, [`job:${job.id as string}:%`])).rows;
    await eventually(async () => (await outcomes()).every((row) => row.status === 'sent' || row.status === 'failed'));
    expect(await outcomes()).toEqual([{ status: 'sent', attempts: 1, count: String(RECIPIENTS) }]);
    console.warn(`notification.send job: ${RECIPIENTS} emails at ${EMAILS_PER_SECOND}/s in ${job.durationMs as number} ms (paced minimum ${pacedMs} ms), `
      + `${throttles} throttles, ${job.retries as number} retries, first to last email ${Math.round(times.at(-1)! - times[0]!)} ms, busiest second ${busiest} emails`);
  }, 150_000);

  test('when a plain user\'s job addresses someone else, names an unknown template or misses a value, then those items fail at once (not retried) while the items to their own address succeed', async () => {
    const { token } = await h.registerUser({ email: 'pat@example.com', name: 'Pat' });
    const user = jobsClient(hub.url, token);
    const created = await user.create({
      type: 'notification.send', retry: { limit: 3, backoffMs: 50, maxBackoffMs: 200 },
      items: [
        { key: 'own', input: { channel: 'email', template: 'notice', data: notice('Own, by default') } },
        { key: 'own-named', input: { channel: 'email', to: 'PAT@example.com', template: 'notice', data: notice('Own, named') } },
        { key: 'someone-else', input: { channel: 'email', to: 'victim@example.com', template: 'notice', data: notice('Not yours') } },
        { key: 'unknown-template', input: { channel: 'email', template: 'no-such-template', data: {} } },
        { key: 'missing-value', input: { channel: 'email', template: 'notice', data: { title: 'No message' } } },
      ],
    });
    expect(created.status).toBe(202);

    const job = await user.finished(created.body.id as string);
    expect(job).toMatchObject({ status: 'partially_failed', total: 5, succeeded: 2, failed: 3, retries: 0 });
    const items = new Map((await allItems(user, job.id as string)).map((item) => [item.key as string, item]));
    expect(items.get('someone-else')).toMatchObject({ status: 'failed', attempts: 1, lastError: expect.stringContaining('NOTIFICATION.RECIPIENT_FORBIDDEN') });
    expect(items.get('unknown-template')).toMatchObject({ status: 'failed', attempts: 1, lastError: expect.stringContaining('NOTIFICATION.UNKNOWN_TEMPLATE') });
    expect(items.get('missing-value')).toMatchObject({ status: 'failed', attempts: 1, lastError: expect.stringContaining('NOTIFICATION.TEMPLATE_DATA_MISSING') });

    for (const key of ['own', 'own-named']) {
      expect(items.get(key)).toMatchObject({ status: 'succeeded', attempts: 1, result: { notificationId: expect.any(String) } });
      const { notificationId } = items.get(key)!.result as { notificationId: string };
      // The job's creator owns what it sent, and sees it like any notification of theirs.
      await eventually(async () => (await request(h.app).get(`/${notificationId}`).set({ authorization: `Bearer ${token}` })).body.status === 'sent');
    }
    const toPat = h.smtp.messages.filter((m) => m.to.includes('pat@example.com')).map((m) => m.subject).sort();
    expect(toPat).toEqual(['Own, by default', 'Own, named', 'Welcome to hubspoke, Pat']);
    expect(h.smtp.messages.filter((m) => m.to.includes('victim@example.com'))).toEqual([]);
  }, 60_000);
});
