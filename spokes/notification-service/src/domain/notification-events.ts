import { NotificationFailedV1, NotificationSentV1, type NotificationFailedV1Payload, type NotificationSentV1Payload } from '@hubspoke/contracts';
import { createEvent } from '@hubspoke/kit';

/** The envelope `source` of everything this spoke publishes; the shapes are in @hubspoke/contracts. */
export const NOTIFICATION_EVENT_SOURCE = 'notification';

export const notificationSentV1 = (payload: NotificationSentV1Payload) => createEvent(NotificationSentV1, NOTIFICATION_EVENT_SOURCE, payload);
export const notificationFailedV1 = (payload: NotificationFailedV1Payload) => createEvent(NotificationFailedV1, NOTIFICATION_EVENT_SOURCE, payload);
