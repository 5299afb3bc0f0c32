import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/**
 * A notification will not be sent (notification spoke): the provider refused it for good (`permanent`),
 * every attempt failed (`attempts_exhausted`), or the spoke stopped during a provider call and, not knowing
 * whether it went out, does not send it again (`interrupted`). No address, body or provider text.
 */
export const NotificationFailedV1 = defineEvent('notification.failed', 1, z.object({
  notificationId: z.uuid(),
  ownerId: z.string().min(1).max(200),
  channel: z.enum(['email', 'sms', 'push']),
  template: z.string().min(1).max(64),
  reason: z.enum(['permanent', 'attempts_exhausted', 'interrupted']),
  attempts: z.int().min(0),
}), { producer: 'notification', userFields: ['ownerId'] });

export type NotificationFailedV1Payload = z.output<typeof NotificationFailedV1.payload>;
