import type { ConfirmChannel, Message, Options } from 'amqplib';
import { AppError } from '../errors.js';

export type PublishFailure = 'NOT_CONNECTED' | 'UNROUTABLE' | 'NACKED' | 'CONFIRM_TIMEOUT' | 'CHANNEL_CLOSED';

/** A publish that did not reach a queue. 503: the caller may try again later (the outbox relay does). */
export function publishFailed(reason: PublishFailure, message: string, cause?: unknown): AppError {
  return new AppError(`MESSAGING.${reason}`, message, 503, { reason }, { cause });
}

export interface ConfirmedPublisherOptions {
  /** Outstanding confirms allowed at once; further publishes wait for a slot. */
  maxUnconfirmed: number;
  confirmTimeoutMs: number;
}

export type ConfirmedPublish = (exchange: string, routingKey: string, content: Buffer, options: Options.Publish & { messageId: string }) => Promise<void>;

/**
 * Publishes on a confirm channel with `mandatory`, resolving only when the broker confirmed the message
 * AND did not return it: a confirm alone does not mean a queue got it (DESIGN.md §9). Many publishes are
 * outstanding at once (a window, not one awaited per message: ≈ 10× the throughput); the window also
 * bounds amqplib's write buffer, so its `false` return needs no separate handling.
 */
export function confirmedPublisher(channel: ConfirmChannel, { maxUnconfirmed, confirmTimeoutMs }: ConfirmedPublisherOptions): ConfirmedPublish {
  // RabbitMQ sends basic.return before the confirm of the same message; returns carry no delivery
  // tag, so they are matched by messageId (a count, in case one id is in flight twice).
  const returned = new Map<string, number>();
  const waiting: (() => void)[] = [];
  let unconfirmed = 0;

  channel.on('return', (message: Message) => {
    const id = String(message.properties.messageId);
    returned.set(id, (returned.get(id) ?? 0) + 1);
  });

  const takeReturned = (id: string): boolean => {
    const count = returned.get(id) ?? 0;
    if (count === 0) return false;
    if (count === 1) returned.delete(id);
    else returned.set(id, count - 1);
    return true;
  };

  // A freed slot passes straight to the longest waiter, so publishes leave in the order they were made.
  const acquire = (): Promise<void> | undefined => {
    if (unconfirmed < maxUnconfirmed) {
      unconfirmed++;
      return undefined;
    }
    return new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else unconfirmed--;
  };

  return async (exchange, routingKey, content, options) => {
    const slot = acquire();
    if (slot) await slot;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (error?: AppError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        release();
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(
        () => settle(publishFailed('CONFIRM_TIMEOUT', `no confirm for ${routingKey} within ${confirmTimeoutMs} ms`)),
        confirmTimeoutMs,
      );
      try {
        channel.publish(exchange, routingKey, content, { ...options, mandatory: true }, (error) => {
          if (takeReturned(options.messageId)) settle(publishFailed('UNROUTABLE', `no queue is bound to ${routingKey} on ${exchange || 'the default exchange'}`));
          else if (error === null || error === undefined) settle();
          else if (/closed/i.test(String((error as Error).message))) settle(publishFailed('CHANNEL_CLOSED', 'the channel closed before the confirm', error));
          else settle(publishFailed('NACKED', `the broker refused ${routingKey}`, error));
        });
      } catch (error) {
        settle(publishFailed('CHANNEL_CLOSED', 'the channel is closed', error));
      }
    });
  };
}
