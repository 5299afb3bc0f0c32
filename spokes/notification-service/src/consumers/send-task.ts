import { isAppError, rejectTask, serveTasks, throttleTask, type TaskServer } from '@hubspoke/kit';
import { SendTaskInput } from '../routes/notification-input.js';
import type { NotificationContext } from '../service.js';

export const SEND_TASK_TYPE = 'notification.send';

/**
 * The hub task `notification.send`: one recipient of a job (`POST /api/hub/jobs`). Any signed-in user may
 * submit one; the job's creator is the sender, under `POST /`'s rules: a plain user only to their own
 * contacts, an admin to any valid address. An item succeeds once its notification is queued, with
 * `{ notificationId }` as its result (delivery is then the send worker's, seen at `GET /:id`). What retrying
 * cannot change (an unknown template, a missing value, a bad address, no contact, someone else's address)
 * fails the item at once; the provider's rate limit answers "throttled, retry after N ms", and the hub
 * pauses the job for that long.
 */
export function sendTask({ bus, domain: { notifications } }: Pick<NotificationContext, 'bus' | 'domain'>): TaskServer {
  // The notification becomes visible when the task's transaction commits: the worker looks then, not a poll later.
  bus.on('consumed', ({ envelope }) => {
    if (envelope.type === SEND_TASK_TYPE) notifications.wakeSender();
  });
  return serveTasks(SEND_TASK_TYPE, async ({ jobId, itemKey, input, creator }, tx) => {
    const outcome = await notifications.sendJobItem(tx, creator, { jobId, itemKey, ...input }).catch((error: unknown) => {
      throw isAppError(error) && error.status < 500 ? rejectTask(`${error.code}: ${error.message}`) : error;
    });
    if (outcome.status === 'throttled') throw throttleTask(outcome.retryAfterMs, `${input.channel} provider limit reached`);
    return { notificationId: outcome.id };
  }, { inputSchema: SendTaskInput, allowed: 'users' });
}
