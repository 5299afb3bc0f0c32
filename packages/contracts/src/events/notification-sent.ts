import { defineEvent } from '@hubspoke/kit';
import { z } from 'zod';

/**
 * A provider accepted a notification (notification spoke). No address, subject or body: consumers that
 * need them ask the owner, so personal data and message text stay in one database.
 */
export const NotificationSentV1 = defineEvent('notification.sent', 1, z.object({
  notificationId: z.uuid(),
  /** The user who asked for it (for a welcome email, the new user). */
  ownerId: z.string().min(1).max(200),
  channel: z.enum(['email', 'sms', 'push']),
  template: z.string().min(1).max(64),
  /** `smtp`, `webhook` or `log`. */
  provider: z.string().min(1).max(40),
  /** Provider calls it took, this one included. */
  attempts: z.int().min(1),
}), { producer: 'notification', userFields: ['ownerId'] });

export type NotificationSentV1Payload = z.output<typeof NotificationSentV1.payload>;
