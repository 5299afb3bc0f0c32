import amqp, { type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { coalesceWrites } from './coalesce-writes.js';

export type BusState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ReconnectingConnectionOptions {
  url: string;
  /** Shows as the connection name in the RabbitMQ management UI. */
  name: string;
  logger: Logger;
  heartbeatSeconds: number;
  connectTimeoutMs: number;
  reconnectDelayMs: { min: number; max: number };
  /** Sets up channels, topology and consumers; a throw drops the connection and retries later. */
  onConnected: (connection: ChannelModel) => Promise<void>;
  onStateChange: (state: BusState) => void;
}

export interface ReconnectingConnection {
  state: () => BusState;
  /** Resolves after the first attempt, successful or not: a service starts with the broker down. */
  firstAttempt: Promise<void>;
  /** Closes the current connection so the loop reconnects and sets everything up again. */
  drop: (reason: string) => void;
  /** Stops reconnecting, runs `beforeClose` on the still-open connection (draining consumers), then closes it. */
  close: (beforeClose?: () => Promise<void>) => Promise<void>;
}

/**
 * One AMQP connection kept open for the life of the process: reconnects with capped, jittered
 * exponential backoff when the broker is unreachable at start or the connection drops. Sockets use
 * `noDelay` (Nagle makes a round trip ≈ 40× slower) and heartbeats, so a dead peer is noticed; frames queued
 * together leave in one socket write (`coalesceWrites`).
 */
export function keepConnected(options: ReconnectingConnectionOptions): ReconnectingConnection {
  const { logger } = options;
  let state: BusState = 'connecting';
  let current: ChannelModel | undefined;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  const setState = (next: BusState) => {
    if (state === next) return;
    state = next;
    options.onStateChange(next);
  };

  const url = new URL(options.url);
  url.searchParams.set('heartbeat', String(options.heartbeatSeconds));

  async function attempt(): Promise<void> {
    timer = undefined;
    let connection: ChannelModel | undefined;
    try {
      connection = await amqp.connect(url.toString(), {
        noDelay: true,
        timeout: options.connectTimeoutMs,
        clientProperties: { connection_name: options.name },
      });
      if (!coalesceWrites(connection)) logger.debug('amqp: frames are written one by one (unknown amqplib internals)');
      connection.on('error', (error: Error) => logger.warn({ err: error }, 'amqp connection error'));
      connection.once('close', () => lost(connection));
      if (state === 'closed') return void (await connection.close().catch(() => undefined));
      current = connection;
      await options.onConnected(connection);
      // Lost or closed while setting up: `lost`/`close` already took over.
      if (current !== connection) return;
      failures = 0;
      setState('connected');
      logger.info('amqp connected');
    } catch (error) {
      logger.warn({ err: error, failures: failures + 1 }, 'amqp connect failed');
      if (connection) {
        current = undefined;
        await connection.close().catch(() => undefined);
      }
      schedule();
    }
  }

  function lost(connection: ChannelModel | undefined) {
    if (connection !== current) return;
    current = undefined;
    if (state === 'closed') return;
    logger.warn('amqp connection lost');
    schedule();
  }

  function schedule() {
    if (state === 'closed' || timer) return;
    setState('reconnecting');
    const ceiling = Math.min(options.reconnectDelayMs.max, options.reconnectDelayMs.min * 2 ** failures++);
    timer = setTimeout(() => void attempt(), ceiling / 2 + Math.random() * (ceiling / 2));
  }

  return {
    state: () => state,
    firstAttempt: attempt(),
    drop(reason) {
      logger.warn({ reason }, 'amqp reconnecting');
      void current?.close().catch(() => undefined);
    },
    async close(beforeClose) {
      setState('closed');
      clearTimeout(timer);
      await beforeClose?.();
      const connection = current;
      current = undefined;
      await connection?.close().catch(() => undefined);
    },
  };
}
