import type { EventContract } from '@hubspoke/kit';
import { NotificationFailedV1 } from './notification-failed.js';
import { NotificationSentV1 } from './notification-sent.js';
import { JobCreatedV1 } from './job-created.js';
import { JobFinishedV1 } from './job-finished.js';
import { UserDeletedV1 } from './user-deleted.js';
import { UserLoggedInV1 } from './user-logged-in.js';
import { UserRegisteredV1 } from './user-registered.js';
import { UserUpdatedV1 } from './user-updated.js';

export * from './notification-failed.js';
export * from './notification-sent.js';
export * from './job-created.js';
export * from './job-finished.js';
export * from './user-deleted.js';
export * from './user-logged-in.js';
export * from './user-registered.js';
export * from './user-updated.js';

/** Every event type and version anyone may publish (docs/events.md): a new one is added here too. */
export const EVENT_CONTRACTS: readonly EventContract[] = [UserRegisteredV1, UserLoggedInV1, UserUpdatedV1, UserDeletedV1, NotificationSentV1, NotificationFailedV1, JobCreatedV1, JobFinishedV1];

/** The contract for a routing key (`user.registered.v1`), or undefined when none is published. */
export function eventContractFor(routingKey: string): EventContract | undefined {
  return EVENT_CONTRACTS.find((contract) => contract.routingKey === routingKey);
}
