import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { UserDeletedV1, UserRegisteredV1 } from '@hubspoke/contracts';
import { createEvent } from '@hubspoke/kit';
import { eventually, signTestToken } from '@hubspoke/kit/testing';
import { startNotificationHarness, type NotificationHarness } from './support/notification-harness.js';

let h: NotificationHarness;
beforeAll(async () => {
  h = await startNotificationHarness('notification_welcome');
});
afterAll(() => h?.close());

const count = async (sql: string, params: unknown[]) => Number((await h.db.query(sql, params)).rows[0].count);

describe('the welcome email', () => {
  test('when user.registered is delivered twice, then the SMTP server receives exactly one welcome email and notification.sent is published once', async () => {
    const userId = randomUUID();
    const envelope = createEvent(UserRegisteredV1, 'auth', { userId, email: 'Ana@Example.com', name: 'Ana <admin>', role: 'user' });
    const sent = h.waitForPublished('notification.sent', (p) => p.ownerId === userId);
    const before = h.smtp.messages.length;
    const consumedTwice = Promise.all([
      h.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id && !c.duplicate),
      h.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id && c.duplicate),
    ]);
    await h.probe.publish(envelope);
    await h.probe.publish(envelope);
    await consumedTwice;
    expect((await sent).payload).toMatchObject({ ownerId: userId, channel: 'email', template: 'welcome', provider: 'smtp', attempts: 1 });

    const mails = h.smtp.messages.slice(before).filter((m) => m.to.includes('ana@example.com'));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe('Welcome to hubspoke, Ana <admin>');
    // The HTML part escapes the name: no markup from user data reaches the mail client.
    expect(mails[0]!.raw).toContain('Ana &lt;admin&gt;');
    expect(await count(`SELECT count(*) FROM notifications WHERE owner_id = $1`, [userId])).toBe(1);
  });

  test('when the same registration arrives again as another copy of the event (its dedupe record pruned), then the event id still keeps it to one email', async () => {
    const userId = randomUUID();
    const envelope = createEvent(UserRegisteredV1, 'auth', { userId, email: 'bo@example.com', name: 'Bo', role: 'user' });
    const consumed = h.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
    await h.probe.publish(envelope);
    await consumed;
    await h.db.query(`DELETE FROM processed_messages WHERE message_id = $1`, [envelope.id]);
    const again = h.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
    await h.probe.publish(envelope);
    await again;
    await eventually(async () => (await count(`SELECT count(*) FROM notifications WHERE owner_id = $1 AND status = 'sent'`, [userId])) === 1);
    expect(h.smtp.messages.filter((m) => m.to.includes('bo@example.com'))).toHaveLength(1);
  });
});

describe('erasure on user.deleted', () => {
  test('when user.deleted arrives, then the user\'s contacts, notifications and attempts are gone and other users\' stay', async () => {
    const [leaving, staying] = [randomUUID(), randomUUID()];
    for (const [userId, email] of [[leaving, 'leaving@example.com'], [staying, 'staying@example.com']] as const) {
      const envelope = createEvent(UserRegisteredV1, 'auth', { userId, email, name: 'N', role: 'user' });
      const consumed = h.bus.waitFor('consumed', (c) => c.envelope.id === envelope.id);
      await h.probe.publish(envelope);
      await consumed;
    }
    const token = await signTestToken(h.keys, { sub: leaving, role: 'user' });
    await request(h.app).post('/contacts').set({ authorization: `Bearer ${token}` }).send({ channel: 'sms', address: '+15550001111' }).expect(201);
    await eventually(async () => (await count(`SELECT count(*) FROM notifications WHERE owner_id = ANY($1) AND status = 'sent'`, [[leaving, staying]])) === 2);

    const deleted = createEvent(UserDeletedV1, 'user', { userId: leaving });
    const consumed = h.bus.waitFor('consumed', (c) => c.envelope.id === deleted.id);
    await h.probe.publish(deleted);
    await consumed;

    expect(await count('SELECT count(*) FROM contacts WHERE user_id = $1', [leaving])).toBe(0);
    expect(await count('SELECT count(*) FROM notifications WHERE owner_id = $1 OR recipient_user_id = $1', [leaving])).toBe(0);
    expect(await count('SELECT count(*) FROM send_attempts a LEFT JOIN notifications n ON n.id = a.notification_id WHERE n.id IS NULL', [])).toBe(0);
    expect(await count('SELECT count(*) FROM contacts WHERE user_id = $1', [staying])).toBe(1);
    expect(await count('SELECT count(*) FROM notifications WHERE owner_id = $1', [staying])).toBe(1);
    expect((await request(h.app).get('/').set({ authorization: `Bearer ${token}` })).body.items).toEqual([]);
  });
});
