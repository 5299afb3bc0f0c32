import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { REQUEST_ID_HEADER } from '../context.js';
import { keepConnected, type BusState, type ReconnectingConnection } from './connection.js';
import { startConsumer, type ConsumeOptions, type RunningConsumer } from './consumer.js';
import { routingKeyOf, type Envelope } from './envelope.js';
import { waitForEvent, type BusEventName, type BusEvents } from './events.js';
import { confirmedPublisher, publishFailed, type ConfirmedPublish } from './publisher.js';
import { consumerQueues, declareEventsExchange, eventsExchange, type ConsumerQueues } from './topology.js';

export interface BusOptions {
  url: string;
  /** This service's name: the first word of its queue names. */
  service: string;
  logger: Logger;
  /** Prepended to every exchange and queue name: tests pass `uniquePrefix()`, production ''. */
  prefix?: string;
  heartbeatSeconds?: number;
  reconnectDelayMs?: { min: number; max: number };
  connectTimeoutMs?: number;
  confirmTimeoutMs?: number;
  /** Publishes awaiting a confirm at once (DESIGN.md §9: a window, not one confirm awaited per message). */
  maxUnconfirmed?: number;
}

interface ConsumerSpec {
  options: ConsumeOptions;
  queues: ConsumerQueues;
}

const DEFAULT_RETRY_DELAYS_MS = [1_000, 10_000, 60_000];

/**
 * The service's one connection to RabbitMQ: publishes envelopes to the events exchange with confirms,
 * runs consumers, and sets both up again on every reconnect. Emits BusEvents for tests and metrics.
 */
export class Bus extends EventEmitter<BusEvents> {
  readonly exchange: string;
  readonly #options: BusOptions;
  readonly #connection: ReconnectingConnection;
  readonly #consumers: ConsumerSpec[] = [];
  #running: RunningConsumer[] = [];
  /** The connection whose setup finished; consumers registered later start on it directly. */
  #live: ChannelModel | undefined;
  #model: ChannelModel | undefined;
  #publish: ConfirmedPublish | undefined;

  constructor(options: BusOptions) {
    super();
    // Each waitFor() (tests, readiness probes) adds a listener for a moment; many may be pending at once.
    this.setMaxListeners(100);
    this.#options = options;
    this.exchange = eventsExchange(options.prefix ?? '');
    this.#connection = keepConnected({
      url: options.url,
      name: options.service,
      logger: options.logger,
      heartbeatSeconds: options.heartbeatSeconds ?? 10,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      reconnectDelayMs: options.reconnectDelayMs ?? { min: 250, max: 10_000 },
      onConnected: (model) => this.#setUp(model),
      onStateChange: (state) => {
        if (state !== 'connected') this.#live = undefined;
        this.emit('state', state);
      },
    });
  }

  /** Resolves after the first connection attempt, whatever its outcome. */
  get started(): Promise<void> {
    return this.#connection.firstAttempt;
  }

  state(): BusState {
    return this.#connection.state();
  }

  /** For /ready: a service that must publish or consume is not ready without its broker. */
  isConnected(): boolean {
    return this.state() === 'connected';
  }

  /** Resolves once the broker confirmed the message and a queue took it; rejects (503 AppError) otherwise. */
  async publish(envelope: Envelope): Promise<void> {
    const publish = this.#publish;
    if (!this.isConnected() || !publish) return this.#failed(envelope, publishFailed('NOT_CONNECTED', 'not connected to the broker'));
    const sent = publish(this.exchange, routingKeyOf(envelope), Buffer.from(JSON.stringify(envelope)), {
      messageId: envelope.id,
      correlationId: envelope.correlationId,
      type: envelope.type,
      appId: envelope.source,
      timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1000),
      contentType: 'application/json',
      persistent: true,
      headers: { [REQUEST_ID_HEADER]: envelope.correlationId },
    });
    this.emit('published', envelope);
    try {
      await sent;
    } catch (error) {
      return this.#failed(envelope, error);
    }
    this.emit('acked', envelope);
  }

  /** Registers a consumer: started now if connected, and again after every reconnect. */
  async consume(options: ConsumeOptions): Promise<{ queues: ConsumerQueues }> {
    const queues = consumerQueues({
      prefix: this.#options.prefix ?? '',
      service: this.#options.service,
      name: options.name,
      bindings: options.bindings,
      retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
    });
    const spec = { options, queues };
    this.#consumers.push(spec);
    const model = this.#live;
    if (model) {
      try {
        this.#running.push(await this.#start(model, spec));
      } catch (error) {
        // Registered all the same: the reconnect this triggers starts it with the others.
        this.#options.logger.warn({ err: error, queue: queues.queue }, 'consumer failed to start');
        this.#reconnect(model, `consumer ${queues.queue} failed to start`);
      }
    }
    return { queues };
  }

  /**
   * Listeners are tests, metrics and logs: one that throws is logged and the others still run. Thrown
   * through, it would land in the code that emitted it, after an ack or a confirm, and undo that work.
   */
  override emit<K>(event: K extends BusEventName ? K : never, ...args: K extends BusEventName ? BusEvents[K] : never): boolean {
    const listeners = this.rawListeners(event) as ((...values: unknown[]) => void)[];
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (error) {
        this.#options.logger.error({ err: error, event }, 'bus event listener threw');
      }
    }
    return listeners.length > 0;
  }

  waitFor<K extends BusEventName>(event: K, predicate?: (value: BusEvents[K][0]) => boolean, timeoutMs?: number): Promise<BusEvents[K][0]> {
    return waitForEvent(this, event, predicate, timeoutMs);
  }

  /** Stops the consumers (waiting for their handlers), then closes the channels and the connection. */
  async close(): Promise<void> {
    await this.#connection.close(async () => {
      const running = this.#running;
      this.#running = [];
      await Promise.allSettled(running.map((consumer) => consumer.stop()));
    });
    this.#publish = undefined;
  }

  async #setUp(model: ChannelModel): Promise<void> {
    this.#model = model;
    this.#publish = undefined;
    this.#running = [];
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: error }, 'amqp publish channel error'));
    channel.on('close', () => this.#reconnect(model, 'publish channel closed'));
    await declareEventsExchange(channel, this.#options.prefix ?? '');
    this.#publish = confirmedPublisher(channel, model, {
      maxUnconfirmed: this.#options.maxUnconfirmed ?? 1_000,
      confirmTimeoutMs: this.#options.confirmTimeoutMs ?? 10_000,
      onBroken: () => void channel.close().catch(() => undefined),
    });
    // A plain loop: consumers registered while this runs are picked up too.
    for (const spec of this.#consumers) this.#running.push(await this.#start(model, spec));
    this.#live = model;
  }

  #reconnect(model: ChannelModel, reason: string) {
    if (this.#model === model && this.state() !== 'closed') this.#connection.drop(reason);
  }

  #start(model: ChannelModel, { options, queues }: ConsumerSpec): Promise<RunningConsumer> {
    return startConsumer(model, options, {
      logger: this.#options.logger,
      events: this,
      exchange: this.exchange,
      queues,
      reconnect: (reason) => this.#reconnect(model, reason),
    });
  }

  #failed(envelope: Envelope, error: unknown): never {
    this.emit('nacked', { envelope, error: error as BusEvents['nacked'][0]['error'] });
    throw error;
  }
}

/** Connects in the background: resolves after the first attempt even when the broker is down. */
export async function connectBus(options: BusOptions): Promise<Bus> {
  const bus = new Bus(options);
  await bus.started;
  return bus;
}
