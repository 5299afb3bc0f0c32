import type { EventEmitter } from 'node:events';
import type { AppError } from '../errors.js';
import type { BusState } from './connection.js';
import type { Envelope } from './envelope.js';

/** What the bus reports, so tests (and metrics) await outcomes instead of polling. */
export type BusEvents = {
  state: [BusState];
  /** Handed to the broker; `acked` or `nacked` follows. */
  published: [Envelope];
  acked: [Envelope];
  /** Refused, returned as unroutable, timed out or cut off: the publish failed. */
  nacked: [{ envelope: Envelope; error: AppError }];
  /** Handled and acked; `duplicate` when the id was already processed and the handler did not run. */
  consumed: [{ queue: string; envelope: Envelope; duplicate: boolean }];
  retried: [{ queue: string; envelope: Envelope; attempts: number; delayMs: number; error: string }];
  /** Moved to the queue's DLQ; no envelope when the message could not be parsed. */
  'dead-lettered': [{ queue: string; envelope: Envelope | undefined; attempts: number; error: string }];
};

export type BusEventName = keyof BusEvents;
export type BusEventEmitter = EventEmitter<BusEvents>;

/** Resolves with the first `event` whose value passes `predicate`; rejects after `timeoutMs`. Listen before acting. */
export function waitForEvent<K extends BusEventName>(
  emitter: BusEventEmitter,
  event: K,
  predicate: (value: BusEvents[K][0]) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<BusEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const listener = ((value: BusEvents[K][0]) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(value);
    }) as never;
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no matching "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}
