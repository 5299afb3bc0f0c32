import { randomUUID } from 'node:crypto';
import { JobCreatedV1, JobFinishedV1, NotificationFailedV1, NotificationSentV1, UserDeletedV1, UserLoggedInV1, UserRegisteredV1, type JobFinishedV1Payload } from '@hubspoke/contracts';
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

const job = (jobId: string, creatorId: string) => ({ jobId, taskType: 'analytics.aggregate', creatorId, total: 4 });
export const jobCreated = (jobId = randomUUID(), occurredAt = new Date(), creatorId = 'admin-1') =>
  at(createEvent(JobCreatedV1, 'hub', job(jobId, creatorId)), occurredAt);
/** A job's summary as the hub publishes it when the job has no item left, `status` as given. */
export const jobFinished = (status: JobFinishedV1Payload['status'], jobId = randomUUID(), occurredAt = new Date(), creatorId = 'admin-1') =>
  at(createEvent(JobFinishedV1, 'hub', {
    ...job(jobId, creatorId), status, succeeded: status === 'succeeded' ? 4 : 2, failed: status === 'succeeded' ? 0 : 2, cancelled: 0, retries: 1, durationMs: 1200,
  }), occurredAt);

/** An event of a type with no contract in this repository (yet): built by hand, as its producer would. */
export const uncontracted = (type: string, payload: Record<string, unknown>, occurredAt = new Date()) =>
  at(createEnvelope({ source: 'elsewhere', type, version: 1, payload }), occurredAt);
