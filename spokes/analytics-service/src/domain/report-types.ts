import { JobCreatedV1, JobFinishedV1, NotificationFailedV1, NotificationSentV1, UserLoggedInV1, UserRegisteredV1 } from '@hubspoke/contracts';

/** The event types the summary and the business metrics read, by name. */
export const REPORT_TYPES = {
  signup: UserRegisteredV1.type,
  login: UserLoggedInV1.type,
  notificationSent: NotificationSentV1.type,
  notificationFailed: NotificationFailedV1.type,
  jobCreated: JobCreatedV1.type,
  jobFinished: JobFinishedV1.type,
} as const;

/** How a job can finish: the `status` of job.finished, the summary's jobs by status. */
export const JOB_STATUSES = JobFinishedV1.payload.shape.status.options;

/**
 * Types whose daily counts are kept per the payload's `status` too. Only types whose contract bounds the
 * status (an enum), so a producer cannot grow the count rows without limit.
 */
export const STATUS_TYPES: readonly string[] = [JobFinishedV1.type];
