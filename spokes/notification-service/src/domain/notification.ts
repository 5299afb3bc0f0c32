import type { Channel } from './channel.js';

export type NotificationStatus = 'queued' | 'sending' | 'sent' | 'failed';
export type AttemptOutcome = 'pending' | 'sent' | 'transient' | 'permanent' | 'interrupted';

/** One provider call: `pending` while it runs (the send intent), then its outcome. */
export interface Attempt {
  number: number;
  provider: string;
  outcome: AttemptOutcome;
  startedAt: string;
  finishedAt: string | null;
  providerAnswer: string | null;
  error: string | null;
}

export interface NotificationSummary {
  id: string;
  channel: Channel;
  template: string;
  status: NotificationStatus;
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

export interface NotificationDetail extends Omit<NotificationSummary, 'attempts'> {
  ownerId: string;
  recipient: string;
  attempts: Attempt[];
}

export interface NotificationPage {
  items: NotificationSummary[];
  nextCursor: string | null;
}
