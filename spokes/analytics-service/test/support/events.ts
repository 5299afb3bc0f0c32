import { randomUUID } from 'node:crypto';
import { NotificationFailedV1, NotificationSentV1, UserDeletedV1, UserLoggedInV1, UserRegisteredV1 } from '@hubspoke/contracts';
import { createEnvelope, createEvent, type Envelope } from '@hubspoke/kit';

/** A published envelope as it would arrive, with its time set (a late or replayed event). */
export function at<E extends Envelope>(envelope: E, occurredAt: Date): E {
  return { ...envelope, occurredAt: occurredAt.toISOString() };
}

export const registered = (userId = randomUUID(), occurredAt = new Date()) =>
  at(createEvent(UserRegisteredV1, 'auth', { userId, email: `${userId.slice(0, 8)}@example.com`, name: 'Ana', role: 'user' }), occurredAt);
export const loggedIn = (userId = randomUUID(), occurredAt = new Date()) => at(createEvent(UserLoggedInV1, 'auth', { userId }), occurredAt);
export const deleted = (userId: string, occurredAt = new Date()) => at(createEvent(UserDeletedV1, 'user', { userId }), occurredAt);

export const notificationSent = (ownerId = randomUUID(), occurredAt = new Date()) => at(createEvent(NotificationSentV1, 'notification', {
  notificationId: randomUUID(), ownerId, channel: 'email', template: 'welcome', provider: 'smtp', attempts: 1,
}), occurredAt);
export const notificationFailed = (ownerId = randomUUID(), occurredAt = new Date()) => at(createEvent(NotificationFailedV1, 'notification', {
  notificationId: randomUUID(), ownerId, channel: 'sms', template: 'notice', reason: 'permanent', attempts: 1,
}), occurredAt);

/** An event of a type with no contract in this repository (yet): built by hand, as its producer would. */
export const uncontracted = (type: string, payload: Record<string, unknown>, occurredAt = new Date()) =>
  at(createEnvelope({ source: 'elsewhere', type, version: 1, payload }), occurredAt);
