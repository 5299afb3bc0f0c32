import type { Channel } from '../channel.js';

/** One message to one address, already rendered. */
export interface OutgoingMessage {
  notificationId: string;
  channel: Channel;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Every channel's provider answers the same way: a receipt, or a ProviderError saying whether to try again. */
export interface Provider {
  /** Recorded on each attempt: `smtp`, `webhook`, `log`. */
  readonly name: string;
  /** Resolves with the provider's answer (SMTP reply, HTTP status) once it accepted the message. */
  send(message: OutgoingMessage): Promise<{ answer: string }>;
  close?(): void | Promise<void>;
}

/**
 * `transient`: the same message may succeed later (connection refused, timeout, SMTP 4xx, HTTP 429/5xx).
 * `permanent`: it never will (bad address, SMTP 5xx, HTTP 4xx, a refused webhook address).
 */
export class ProviderError extends Error {
  constructor(readonly kind: 'transient' | 'permanent', message: string, readonly answer?: string) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** Anything a provider throws that is not a ProviderError is a bug or an unexpected failure: tried again. */
export function asProviderError(error: unknown): ProviderError {
  return error instanceof ProviderError ? error : new ProviderError('transient', error instanceof Error ? error.message : String(error));
}
