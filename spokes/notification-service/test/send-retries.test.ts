import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterEach, describe, expect, test } from 'vitest';
import { verifyBodySignature } from '@hubspoke/kit';
import { signTestToken } from '@hubspoke/kit/testing';
import { startNotificationHarness, type NotificationHarness } from './support/notification-harness.js';
import { startWebhookReceiver } from './support/webhook-receiver.js';

const SECRET = 'sms-webhook-secret-0123456789';
let h: NotificationHarness | undefined;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>> | undefined;
afterEach(async () => {
  await h?.close();
  await receiver?.close();
  h = undefined;
  receiver = undefined;
});

/** The spoke with its SMS provider pointed at a receiver answering `statuses` in turn. */
async function withSmsProvider(label: string, statuses: number[]) {
  receiver = await startWebhookReceiver(statuses);
  h = await startNotificationHarness(label, {
    env: { SMS_PROVIDER: 'webhook', SMS_WEBHOOK_URL: receiver.url, SMS_WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' },
  });
  return { h, receiver };
}

async function sendSms(h: NotificationHarness): Promise<{ id: string; userId: string; token: string }> {
  const userId = randomUUID();
  const token = await signTestToken(h.keys, { sub: userId, role: 'user' });
  await request(h.app).post('/contacts').set({ authorization: `Bearer ${token}` }).send({ channel: 'sms', address: '+15550002222' }).expect(201);
  const res = await request(h.app).post('/').set({ authorization: `Bearer ${token}` })
    .send({ channel: 'sms', template: 'notice', data: { title: 'Code', message: 'Your code is 1234' } }).expect(202);
  return { id: res.body.id, userId, token };
}

describe('retries', () => {
  test('when the provider fails twice with 503 then accepts, then it is called three times with growing, jittered delays and the notification is sent', async () => {
    const { h, receiver } = await withSmsProvider('notification_retry', [503, 503, 200]);
    const sent = h.waitForPublished('notification.sent', () => true);
    const { id, token } = await sendSms(h);
    expect((await sent).payload).toMatchObject({ notificationId: id, channel: 'sms', provider: 'webhook', attempts: 3 });

    expect(receiver.calls).toHaveLength(3);
    // SEND_RETRY_BASE_MS=100: the delays are drawn in [50, 100] then [100, 200] ms (equal jitter).
    const gaps = [receiver.calls[1]!.at - receiver.calls[0]!.at, receiver.calls[2]!.at - receiver.calls[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    for (const call of receiver.calls) {
      expect(verifyBodySignature(SECRET, call.body, String(call.headers['x-hubspoke-signature']))).toBe(true);
      expect(call.headers['idempotency-key']).toBe(id);
    }
    const detail = (await request(h.app).get(`/${id}`).set({ authorization: `Bearer ${token}` })).body;
    expect(detail.status).toBe('sent');
    expect(detail.attempts.map((a: { outcome: string; providerAnswer: string }) => [a.outcome, a.providerAnswer]))
      .toEqual([['transient', 'HTTP 503: refused'], ['transient', 'HTTP 503: refused'], ['sent', 'HTTP 200: accepted']]);
  });

  test('when the provider keeps failing, then it stops after SEND_MAX_ATTEMPTS and notification.failed says attempts_exhausted', async () => {
    const { h, receiver } = await withSmsProvider('notification_exhausted', [500]);
    const failed = h.waitForPublished('notification.failed', () => true);
    const { id } = await sendSms(h);
    expect((await failed).payload).toMatchObject({ notificationId: id, reason: 'attempts_exhausted', attempts: 3 });
    expect(receiver.calls).toHaveLength(3);
  });
});

describe('permanent failures', () => {
  test('when the provider answers 400, then the notification fails at once, after one call, and the event carries no address or text', async () => {
    const { h, receiver } = await withSmsProvider('notification_permanent', [400, 200]);
    const failed = h.waitForPublished('notification.failed', () => true);
    const { id, token } = await sendSms(h);
    const event = await failed;
    expect(event.payload).toEqual({ notificationId: id, ownerId: expect.any(String), channel: 'sms', template: 'notice', reason: 'permanent', attempts: 1 });
    expect(JSON.stringify(event)).not.toMatch(/1234|\+1555/);
    const detail = (await request(h.app).get(`/${id}`).set({ authorization: `Bearer ${token}` })).body;
    expect(detail).toMatchObject({ status: 'failed', attempts: [{ outcome: 'permanent', providerAnswer: 'HTTP 400: refused' }] });
    expect(receiver.calls).toHaveLength(1);
  });

  test('when the SMTP server refuses the address with 550, then the email fails at once without a retry', async () => {
    h = await startNotificationHarness('notification_smtp_550', { smtp: { refuse: (address) => (address.startsWith('nobody@') ? { code: 550, message: 'No such user' } : undefined) } });
    const admin = await signTestToken(h.keys, { sub: randomUUID(), role: 'admin' });
    const failed = h.waitForPublished('notification.failed', () => true);
    const { body } = await request(h.app).post('/').set({ authorization: `Bearer ${admin}` })
      .send({ channel: 'email', to: 'nobody@example.com', template: 'notice', data: { title: 'T', message: 'M' } }).expect(202);
    expect((await failed).payload).toMatchObject({ notificationId: body.id, reason: 'permanent', attempts: 1 });
    const detail = (await request(h.app).get(`/${body.id}`).set({ authorization: `Bearer ${admin}` })).body;
    expect(detail.attempts).toHaveLength(1);
    expect(detail.attempts[0].error).toMatch(/550/);
    expect(h.smtp.messages).toHaveLength(0);
  });
});
