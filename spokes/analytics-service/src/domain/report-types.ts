/**
 * The event types the summary and the business metrics read, by name. The notification and job types
 * come from spokes whose contracts may not be in @hubspoke/contracts yet: until they are, such events are
 * stored and counted by type all the same (as unknown), which is all these counts need.
 */
export const REPORT_TYPES = {
  signup: 'user.registered',
  login: 'user.logged_in',
  notificationSent: 'notification.sent',
  notificationFailed: 'notification.failed',
} as const;

/** Every `job.<status>` type (job.created, job.finished, …) is one status of the summary's `jobs`. */
export const JOB_TYPE_PREFIX = 'job.';
