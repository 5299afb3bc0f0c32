import type { EventEmitter } from 'node:events';
import type { ConfirmChannel, Message, Options } from 'amqplib';
import { AppError } from '../errors.js';

export type PublishFailure = 'NOT_CONNECTED' | 'UNROUTABLE' | 'NACKED' | 'CONFIRM_TIMEOUT' | 'CHANNEL_CLOSED' | 'BLOCKED' | 'INVALID';

/**
 * A publish that did not reach a queue. 503: the caller may try again later (the outbox relay does);
 * 500 for INVALID, which no retry can fix.
 */
export function publishFailed(reason: PublishFailure, message: string, cause?: unknown): AppError {
  return new AppError(`MESSAGING.${reason}`, message, reason === 'INVALID' ? 500 : 503, { reason }, { cause });
}

/** How a failed publish reads in a record of it (an outbox row's last error, a failed attempt): `MESSAGING.<reason>: <message>`. */
export function publishFailureText(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return code ? `${code}: ${message}` : String(error);
}

export interface ConfirmedPublisherOptions {
  /** Outstanding confirms allowed at once; further publishes wait for a slot. */
  maxUnconfirmed: number;
  /** Longest a publish may take from the call to its confirm, waiting for a slot or an unblocked connection included. */
  confirmTimeoutMs: number;
  /**
   * The channel can no longer be trusted and must be replaced: amqplib threw while writing a publish
   * after it had queued that publish's confirm callback, so every later confirm would be matched to the
   * message before it. The publisher refuses further publishes; the owner closes the channel and opens another.
   */
  onBroken: (error: unknown) => void;
}

export type ConfirmedPublish = (exchange: string, routingKey: string, content: Buffer, options: Options.Publish & { messageId: string }) => Promise<void>;

// AMQP short strings: longer ones make amqplib throw mid-publish (see onBroken), so they are refused first.
const SHORT_STRING_BYTES = 255;
const SHORT_STRING_PROPERTIES = ['messageId', 'correlationId', 'type', 'appId', 'contentType', 'contentEncoding', 'replyTo', 'expiration', 'userId'] as const;

/**
 * Publishes on a confirm channel with `mandatory`, resolving only when the broker confirmed the message
 * AND did not return it: a confirm alone does not mean a queue got it. Many publishes are outstanding
 * at once (a window, not one awaited per message: ≈ 10× the throughput). Backpressure is honoured:
 * nothing is written while amqplib's buffer is full (until `drain`) or the broker blocks the connection
 * (until `unblocked`), and a publish whose confirm timed out keeps its slot until the broker answers or
 * the channel closes, so the window really bounds what is buffered.
 */
export function confirmedPublisher(channel: ConfirmChannel, connection: EventEmitter, { maxUnconfirmed, confirmTimeoutMs, onBroken }: ConfirmedPublisherOptions): ConfirmedPublish {
  // RabbitMQ sends basic.return before the confirm of the same message; returns carry no delivery
  // tag, so they are matched by messageId (a count, in case one id is in flight twice).
  const returned = new Map<string, number>();
  /** Publishes waiting for a slot, in call order. */
  const queue: { write: () => void; fail: (error: AppError) => void }[] = [];
  /** Written publishes awaiting their confirm: each settles its caller (if not timed out) and frees its slot. */
  const outstanding = new Set<(error: AppError | undefined) => void>();
  let full = false;
  let blocked = false;
  let unusable: AppError | undefined;

  const pump = () => {
    while (queue.length > 0 && !unusable && !full && !blocked && outstanding.size < maxUnconfirmed) queue.shift()!.write();
  };
  const onBlocked = () => {
    blocked = true;
  };
  const onUnblocked = () => {
    blocked = false;
    pump();
  };
  connection.on('blocked', onBlocked);
  connection.on('unblocked', onUnblocked);
  channel.on('drain', () => {
    full = false;
    pump();
  });
  channel.on('return', (message: Message) => {
    const id = String(message.properties.messageId);
    returned.set(id, (returned.get(id) ?? 0) + 1);
  });
  channel.once('close', () => {
    unusable ??= publishFailed('CHANNEL_CLOSED', 'the channel closed before the confirm');
    connection.off('blocked', onBlocked);
    connection.off('unblocked', onUnblocked);
    for (const waiting of queue.splice(0)) waiting.fail(unusable);
    // amqplib fails its pending confirms on close, but stops at the first slot already confirmed out of order.
    for (const confirm of [...outstanding]) confirm(unusable);
  });

  const takeReturned = (id: string): boolean => {
    const count = returned.get(id) ?? 0;
    if (count === 0) return false;
    if (count === 1) returned.delete(id);
    else returned.set(id, count - 1);
    return true;
  };

  return (exchange, routingKey, content, options) => new Promise<void>((resolve, reject) => {
    const problem = invalidField(exchange, routingKey, options);
    if (problem) return reject(publishFailed('INVALID', problem));
    if (unusable) return reject(unusable);
    let settled = false;
    let written = false;
    const settle = (error?: AppError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const entry = { write, fail: settle };
    const timer = setTimeout(() => {
      if (!written) {
        queue.splice(queue.indexOf(entry), 1);
        settle(publishFailed(blocked ? 'BLOCKED' : 'CONFIRM_TIMEOUT', `${routingKey} could not be sent within ${confirmTimeoutMs} ms${blocked ? ': the broker blocks publishing' : ''}`));
      } else {
        settle(publishFailed('CONFIRM_TIMEOUT', `no confirm for ${routingKey} within ${confirmTimeoutMs} ms`));
      }
    }, confirmTimeoutMs);

    function write() {
      written = true;
      const confirm = (error: AppError | undefined) => {
        if (!outstanding.delete(confirm)) return;
        settle(error);
        pump();
      };
      outstanding.add(confirm);
      try {
        const accepted = channel.publish(exchange, routingKey, content, { ...options, mandatory: true }, (error) => {
          if (takeReturned(options.messageId)) confirm(publishFailed('UNROUTABLE', `no queue is bound to ${routingKey} on ${exchange || 'the default exchange'}`));
          else if (error === null || error === undefined) confirm(undefined);
          else if (/closed/i.test(String((error as Error).message))) confirm(publishFailed('CHANNEL_CLOSED', 'the channel closed before the confirm', error));
          else confirm(publishFailed('NACKED', `the broker refused ${routingKey}`, error));
        });
        if (!accepted) full = true;
      } catch (error) {
        outstanding.delete(confirm);
        const closed = /clos/i.test(String((error as Error).message));
        settle(publishFailed(closed ? 'CHANNEL_CLOSED' : 'INVALID', closed ? 'the channel is closed' : `${routingKey} could not be encoded`, error));
        unusable ??= publishFailed('CHANNEL_CLOSED', 'the channel is being replaced after a failed publish', error);
        onBroken(error);
      }
    }

    queue.push(entry);
    pump();
  });
}

function invalidField(exchange: string, routingKey: string, options: Options.Publish): string | undefined {
  const fields: [string, unknown][] = [['exchange', exchange], ['routing key', routingKey], ...SHORT_STRING_PROPERTIES.map((name) => [name, options[name]] as [string, unknown])];
  for (const [name, value] of fields) {
    if (typeof value === 'string' && Buffer.byteLength(value) > SHORT_STRING_BYTES) return `${name} is longer than ${SHORT_STRING_BYTES} bytes`;
  }
  return undefined;
}
