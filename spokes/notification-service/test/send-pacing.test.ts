import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { withTransaction } from '@hubspoke/kit';
import { eventually, signTestToken } from '@hubspoke/kit/testing';
import { createRateLimiter } from '../src/domain/rate-limiter.js';
import { retryDelayMs } from '../src/domain/retry-delay.js';
import { startNotificationHarness, type NotificationHarness } from './support/notification-harness.js';

describe('the provider rate limiter', () => {
  test('when a channel\'s bucket is empty, then it refuses with the time until the next token, and other channels are unaffected', () => {
    let now = 0;
    const limiter = createRateLimiter({ email: 2, sms: 4, push: 1 }, () => now);
    expect([limiter.take('email'), limiter.take('email')]).toEqual([{ ok: true }, { ok: true }]);
    expect(limiter.take('email')).toEqual({ ok: false, retryAfterMs: 500 });
    expect(limiter.take('push')).toEqual({ ok: true });
    now = 250;
    expect(limiter.take('email')).toEqual({ ok: false, retryAfterMs: 250 });
    now = 500;
    expect(limiter.take('email')).toEqual({ ok: true });
  });

  test('when idle for long, then the burst is capped at one second\'s worth', () => {
    let now = 0;
    const limiter = createRateLimiter({ email: 3, sms: 1, push: 1 }, () => now);
    now = 60_000;
    expect([1, 2, 3, 4].map(() => limiter.take('email').ok)).toEqual([true, true, true, false]);
  });
});

describe('the retry delay', () => {
  test('when attempts go on, then the ceiling doubles up to the maximum and the delay stays within [ceiling/2, ceiling]', () => {
    const settings = { baseMs: 100, maxMs: 1000 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, settings, () => 1))).toEqual([100, 200, 400, 800, 1000]);
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, settings, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });
});

describe('job items (the send path of the hub task notification.send)', () => {
  let h: NotificationHarness;
  beforeAll(async () => {
    h = await startNotificationHarness('notification_throttle', { env: { SMS_SENDS_PER_SECOND: '2' } });
  });
  afterAll(() => h?.close());

  test('when the SMS limit is reached, then a job item is answered "throttled, retry after N ms" and nothing is queued; the same item again is the same notification', async () => {
    const admin = { userId: randomUUID(), role: 'admin' as const };
    const jobId = randomUUID();
    const item = (n: number) => ({ jobId, itemKey: `r${n}`, channel: 'sms' as const, to: `+1555000${String(n).padStart(4, '0')}`, template: 'notice', data: { title: 'T', message: 'M' } });
    const results = [];
    for (const n of [1, 2, 3]) results.push(await h.domain.notifications.sendJobItem(h.db, admin, item(n)));
    expect(results.slice(0, 2)).toEqual([{ status: 'queued', id: expect.any(String) }, { status: 'queued', id: expect.any(String) }]);
    expect(results[2]).toEqual({ status: 'throttled', retryAfterMs: expect.any(Number) });
    const { retryAfterMs } = results[2] as { retryAfterMs: number };
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(500);
    expect(await h.domain.notifications.sendJobItem(h.db, admin, item(1))).toEqual(results[0]);
    expect(Number((await h.db.query(`SELECT count(*) FROM notifications WHERE dedupe_key LIKE $1`, [`job:${jobId}:%`])).rows[0].count)).toBe(2);
  });

  test('when a plain user\'s job item names someone else\'s address, then it is refused like a request would be', async () => {
    const user = { userId: randomUUID(), role: 'user' as const };
    await expect(h.domain.notifications.sendJobItem(h.db, user, { jobId: randomUUID(), itemKey: 'x', channel: 'sms', to: '+15550009999', template: 'notice', data: { title: 'T', message: 'M' } }))
      .rejects.toMatchObject({ code: 'NOTIFICATION.RECIPIENT_FORBIDDEN' });
  });

  test('when the task\'s transaction rolls back after the item was queued, then no notification is left and the next attempt queues it', async () => {
    const admin = { userId: randomUUID(), role: 'admin' as const };
    const item = { jobId: randomUUID(), itemKey: 'r1', channel: 'sms' as const, to: '+15550007777', template: 'notice', data: { title: 'T', message: 'M' } };
    const dedupeKey = `job:${item.jobId}:${item.itemKey}`;
    await sleep(1000); // the SMS bucket full again: a token for each attempt
    await expect(withTransaction(h.db, async (tx) => {
      expect(await h.domain.notifications.sendJobItem(tx, admin, item)).toMatchObject({ status: 'queued' });
      throw new Error('the task outcome failed to commit');
    })).rejects.toThrow('the task outcome failed to commit');
    expect(Number((await h.db.query('SELECT count(*) FROM notifications WHERE dedupe_key = $1', [dedupeKey])).rows[0].count)).toBe(0);
    const again = await withTransaction(h.db, (tx) => h.domain.notifications.sendJobItem(tx, admin, item));
    expect(again).toEqual({ status: 'queued', id: expect.any(String) });
    expect((await h.db.query('SELECT id FROM notifications WHERE dedupe_key = $1', [dedupeKey])).rows).toEqual([{ id: (again as { id: string }).id }]);
  });

  test('when requests outrun the limit, then the worker defers the rest without counting attempts and sends them all', async () => {
    const userId = randomUUID();
    const token = await signTestToken(h.keys, { sub: userId, role: 'user' });
    await request(h.app).post('/contacts').set({ authorization: `Bearer ${token}` }).send({ channel: 'sms', address: '+15550004444' }).expect(201);
    // Collected from the start: the first may be sent before the last is queued.
    const attemptsById = new Map<string, unknown>();
    const collect = ({ envelope }: { envelope: { type: string; payload: unknown } }) => {
      const payload = envelope.payload as { notificationId: string; attempts: number };
      if (envelope.type === 'notification.sent') attemptsById.set(payload.notificationId, payload.attempts);
    };
    h.probe.on('consumed', collect);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await request(h.app).post('/').set({ authorization: `Bearer ${token}` }).send({ channel: 'sms', template: 'notice', data: { title: `${i}`, message: 'M' } }).expect(202)).body.id);
    }
    await eventually(() => ids.every((id) => attemptsById.has(id)));
    h.probe.off('consumed', collect);
    expect(ids.map((id) => attemptsById.get(id))).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('provider calls after the worker fell behind', () => {
  const RATE = 10;
  let h: NotificationHarness;
  let stalled: Promise<void> | undefined;
  beforeAll(async () => {
    h = await startNotificationHarness('notification_backlog', {
      env: { EMAIL_SENDS_PER_SECOND: String(RATE), SEND_CONCURRENCY: '1' },
      // The SMTP server holds its first message for 2 s: the worker, one call at a time, falls behind.
      smtp: { beforeReply: () => stalled ?? (stalled = sleep(2000)) },
    });
  });
  afterAll(() => h?.close());

  test('when job items keep being admitted while the provider is slow, then the backlog still reaches the provider no faster than its limit', async () => {
    const admin = { userId: randomUUID(), role: 'admin' as const };
    const jobId = randomUUID();
    const admitted: string[] = [];
    // A hub at full speed: every item tried again as soon as it is throttled, for 3 s.
    for (let n = 0, until = performance.now() + 3000; performance.now() < until; await sleep(20)) {
      const item = { jobId, itemKey: `k${n}`, channel: 'email' as const, to: `k${n}@backlog.example`, template: 'notice', data: { title: `${n}`, message: 'M' } };
      const outcome = await withTransaction(h.db, (tx) => h.domain.notifications.sendJobItem(tx, admin, item));
      if (outcome.status === 'queued') {
        admitted.push(item.to);
        n++;
        h.domain.notifications.wakeSender();
      }
    }
    expect(admitted.length).toBeGreaterThan(2 * RATE);
    await eventually(() => h.smtp.messages.length >= admitted.length, 15_000);
    const times = h.smtp.messages.map((m) => m.at).sort((a, b) => a - b);
    // A token bucket lets through a second's burst, then `RATE` a second: at most 2 × RATE in any one second (a
    // quarter more for the jitter between a token taken and an email read). Pre-paid at admission, it was 38.
    const busiest = Math.max(...times.map((start) => times.filter((t) => t >= start && t < start + 1000).length));
    expect(busiest).toBeLessThanOrEqual(2 * RATE * 1.25);
    expect(new Set(h.smtp.messages.map((m) => m.to.join())).size).toBe(admitted.length);
  });
});
