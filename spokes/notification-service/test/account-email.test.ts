import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SendAccountEmailV1 } from '@hubspoke/contracts';
import { createEvent } from '@hubspoke/kit';
import { eventually, signTestToken } from '@hubspoke/kit/testing';
import { startNotificationHarness, type NotificationHarness } from './support/notification-harness.js';

const ERASED = '[erased after sending: it held a one-time link]';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotificationHarness('notification_account_email', { smtp: { refuse: (address) => (address.startsWith('bounce') ? { code: 550, message: 'no such mailbox' } : undefined) } });
});
afterAll(() => h?.close());

const resetCommand = (email: string, token = randomUUID().replace(/-/g, '')) => createEvent(SendAccountEmailV1, 'auth', {
  template: 'password-reset', userId: randomUUID(), email, name: 'Ana', link: `https://app.example.test/account/reset-password#token=${token}`, expiresInMinutes: 30,
});

async function stored(ownerId: string) {
  const { rows } = await h.db.query<{ status: string; subject: string; body_text: string; body_html: string }>(
    'SELECT status, subject, body_text, body_html FROM notifications WHERE owner_id = $1', [ownerId]);
  return rows;
}

describe('the send_account_email command', () => {
  test('when the command arrives twice, then one email with the link goes out and the stored body is erased once it is sent', async () => {
    const command = resetCommand('Ana@Example.com');
    const { userId, link } = command.payload as { userId: string; link: string };
    const sent = h.waitForPublished('notification.sent', (p) => p.ownerId === userId);
    const both = Promise.all([
      h.bus.waitFor('consumed', (c) => c.envelope.id === command.id && !c.duplicate),
      h.bus.waitFor('consumed', (c) => c.envelope.id === command.id && c.duplicate),
    ]);
    await h.probe.publish(command, { exchange: SendAccountEmailV1.exchange });
    await h.probe.publish(command, { exchange: SendAccountEmailV1.exchange });
    await both;
    expect((await sent).payload).toMatchObject({ template: 'password-reset', channel: 'email', attempts: 1 });

    const mails = h.smtp.messages.filter((m) => m.to.includes('ana@example.com'));
    expect(mails.map((m) => m.subject)).toEqual(['Reset your hubspoke password']);
    expect(mails[0]!.text).toContain(link);
    await eventually(async () => (await stored(userId))[0]?.body_text === ERASED);
    expect(await stored(userId)).toEqual([{ status: 'sent', subject: 'Reset your hubspoke password', body_text: ERASED, body_html: ERASED }]);
  });

  test('when the provider refuses the address for good, then the notification fails and its body is erased too', async () => {
    const command = resetCommand('bounce@example.com');
    const { userId } = command.payload as { userId: string };
    const failed = h.waitForPublished('notification.failed', (p) => p.ownerId === userId);
    await h.probe.publish(command, { exchange: SendAccountEmailV1.exchange });
    expect((await failed).payload).toMatchObject({ reason: 'permanent' });
    expect(await stored(userId)).toEqual([expect.objectContaining({ status: 'failed', body_text: ERASED, body_html: ERASED })]);
  });

  test('when an API caller names an account template, then it is an unknown template and nothing is queued', async () => {
    const userId = randomUUID();
    const token = await signTestToken(h.keys, { sub: userId, role: 'admin' });
    for (const template of ['verify-email', 'password-reset', 'password-changed']) {
      const res = await request(h.app).post('/').set({ authorization: `Bearer ${token}` })
        .send({ channel: 'email', to: 'victim@example.com', template, data: { name: 'x', link: 'https://evil.example/', expiresInMinutes: 5 } });
      expect([res.status, res.body.error.code]).toEqual([400, 'NOTIFICATION.UNKNOWN_TEMPLATE']);
    }
    expect(await stored(userId)).toEqual([]);
  });
});
