import { EventEmitter } from 'node:events';
import type { ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { REQUEST_ID_HEADER } from '../context.js';
import { keepConnected, type BusState, type ReconnectingConnection } from './connection.js';
import { DEFAULT_RETRY_DELAYS_MS, startConsumer, type ConsumeOptions, type RunningConsumer } from './consumer.js';
import { routingKeyOf, type Envelope } from './envelope.js';
import { waitForEvent, type BusEventName, type BusEvents } from './events.js';
import { instrumentBus } from './metrics.js';
import { confirmedPublisher, publishFailed, type ConfirmedPublish } from './publisher.js';
import {
  consumerQueues, ensureSharedTopology, eventsExchange, exchangeOf, tasksExchange, type ConsumerQueues, type ExchangeKind,
} from './topology.js';

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
  /** Publishes awaiting a confirm at once: a window, not one confirm awaited per message. */
  maxUnconfirmed?: number;
  /** Delay before a consumer that failed to start (say, a queue declared with other arguments) is tried again; doubles up to `max`. */
  consumerRetryDelayMs?: { min: number; max: number };
  /** Where the `amqp_*` metrics go (the service's Prometheus registry, served at /internal/metrics). */
  registry?: Registry;
}

export interface PublishOptions {
  /** `events` (the default), or `tasks` / `results`, where an unroutable message fails instead of being parked. */
  exchange?: ExchangeKind;
}

export interface ConsumerHealth {
  queue: string;
  running: boolean;
  /** Why the consumer is not running (its declaration failed, its channel closed), while it is retried. */
  error?: string;
  failingSince?: string;
}

export interface BusHealth {
  state: BusState;
  consumers: ConsumerHealth[];
}

interface ConsumerSlot {
  options: ConsumeOptions;
  queues: ConsumerQueues;
  exchange: string;
  running?: RunningConsumer;
  /** Identifies the start in progress or running, so a stale consumer's restart request is ignored. */
  token?: object;
  failure?: { error: string; since: Date; count: number };
  retry?: NodeJS.Timeout;
}

/**
 * The service's connections to RabbitMQ: one publishes envelopes with confirms, the other runs the
 * consumers, so a connection the broker blocks for publishing still delivers and acks. Both are set up
 * again on every reconnect. A consumer that fails to start (or whose channel breaks) is retried on its
 * own and reported by `health()`, without disturbing the others. Emits BusEvents for tests and metrics.
 */
export class Bus extends EventEmitter<BusEvents> {
  readonly exchange: string;
  readonly tasksExchange: string;
  readonly #options: BusOptions;
  readonly #prefix: string;
  readonly #publishing: ReconnectingConnection;
  #consuming: ReconnectingConnection | undefined;
  /** Set once a connection's setup finished; consumers registered later start on it directly. */
  #consumingModel: ChannelModel | undefined;
  #publishingModel: ChannelModel | undefined;
  #publish: ConfirmedPublish | undefined;
  readonly #slots: ConsumerSlot[] = [];
  /** Handlers of every consumer ever started, across reconnects: close() waits for all of them. */
  readonly #handlers = new Set<Promise<void>>();
  #state: BusState = 'connecting';

  constructor(options: BusOptions) {
    super();
    // Each waitFor() (tests, readiness probes) adds a listener for a moment; many may be pending at once.
    this.setMaxListeners(100);
    this.#options = options;
    this.#prefix = options.prefix ?? '';
    this.exchange = eventsExchange(this.#prefix);
    this.tasksExchange = tasksExchange(this.#prefix);
    if (options.registry) instrumentBus(this, options.registry);
    this.#publishing = this.#connect('publish', (model) => this.#setUpPublishing(model));
  }

  /** Resolves after the first connection attempts, whatever their outcome. */
  get started(): Promise<void> {
    return Promise.all([this.#publishing.firstAttempt, this.#consuming?.firstAttempt]).then(() => undefined);
  }

  /** Both connections' state: `connected` only when publishing and (if there are consumers) consuming work. */
  state(): BusState {
    const states = [this.#publishing.state(), ...(this.#consuming ? [this.#consuming.state()] : [])];
    if (states.includes('closed')) return 'closed';
    if (states.every((state) => state === 'connected')) return 'connected';
    return states.includes('reconnecting') ? 'reconnecting' : 'connecting';
  }

  /** For /ready: a service that must publish or consume is not ready without its broker. */
  isConnected(): boolean {
    return this.state() === 'connected';
  }

  /** The connection state and each consumer's, for /ready (see busReadinessCheck) and metrics. */
  health(): BusHealth {
    return {
      state: this.state(),
      consumers: this.#slots.map((slot) => ({
        queue: slot.queues.queue,
        running: slot.running !== undefined,
        ...(slot.failure && { error: slot.failure.error, failingSince: slot.failure.since.toISOString() }),
      })),
    };
  }

  /** Resolves once the broker confirmed the message and a queue took it; rejects (an AppError) otherwise. */
  async publish(envelope: Envelope, { exchange = 'events' }: PublishOptions = {}): Promise<void> {
    const publish = this.#publish;
    if (this.#publishing.state() !== 'connected' || !publish) return this.#failed(envelope, publishFailed('NOT_CONNECTED', 'not connected to the broker'));
    const sent = publish(exchangeOf(exchange, this.#prefix), routingKeyOf(envelope), Buffer.from(JSON.stringify(envelope)), {
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

  /**
   * Registers a consumer: started now if connected, and again after every reconnect. A consumer that
   * cannot start is retried in the background and shows in `health()`; the call does not fail.
   */
  async consume(options: ConsumeOptions): Promise<{ queues: ConsumerQueues }> {
    const queues = consumerQueues({
      prefix: this.#prefix,
      service: this.#options.service,
      name: options.name,
      bindings: options.bindings,
      retryDelaysMs: options.retryDelaysMs ?? [...DEFAULT_RETRY_DELAYS_MS],
    });
    const slot: ConsumerSlot = { options, queues, exchange: exchangeOf(options.exchange ?? 'events', this.#prefix) };
    this.#slots.push(slot);
    if (!this.#consuming) {
      this.#consuming = this.#connect('consume', (model) => this.#setUpConsuming(model));
      await this.#consuming.firstAttempt;
    } else if (this.#consumingModel) {
      await this.#startConsumer(this.#consumingModel, slot);
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

  /**
   * Stops the consumers and waits for every handler, including those started on connections lost
   * since, then closes the channels and the connections.
   */
  async close(): Promise<void> {
    await this.#consuming?.close(async () => {
      for (const slot of this.#slots) clearTimeout(slot.retry);
      await Promise.allSettled(this.#slots.map((slot) => slot.running?.stop()));
    });
    await Promise.allSettled([...this.#handlers]);
    await this.#publishing.close();
    this.#publish = undefined;
  }

  #connect(role: 'publish' | 'consume', onConnected: (model: ChannelModel) => Promise<void>): ReconnectingConnection {
    const options = this.#options;
    return keepConnected({
      url: options.url,
      name: `${options.service} ${role}`,
      logger: options.logger.child({ amqpConnection: role }),
      heartbeatSeconds: options.heartbeatSeconds ?? 10,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      reconnectDelayMs: options.reconnectDelayMs ?? { min: 250, max: 10_000 },
      onConnected,
      onStateChange: (state) => {
        if (state !== 'connected' && role === 'consume') this.#consumingModel = undefined;
        if (state !== 'connected' && role === 'publish') this.#publishingModel = undefined;
        const combined = this.state();
        if (combined === this.#state) return;
        this.#state = combined;
        this.emit('state', combined);
      },
    });
  }

  async #setUpPublishing(model: ChannelModel): Promise<void> {
    this.#publish = undefined;
    await ensureSharedTopology(model, this.#prefix);
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: Error) => this.#options.logger.warn({ err: error }, 'amqp publish channel error'));
    // A new connection is the simplest fresh channel: it only carries publishes, so nothing else restarts.
    channel.on('close', () => {
      if (this.#publishingModel === model) this.#publishing.drop('publish channel closed');
    });
    this.#publish = confirmedPublisher(channel, model, {
      maxUnconfirmed: this.#options.maxUnconfirmed ?? 1_000,
      confirmTimeoutMs: this.#options.confirmTimeoutMs ?? 10_000,
      onBroken: () => void channel.close().catch(() => undefined),
    });
    this.#publishingModel = model;
  }

  async #setUpConsuming(model: ChannelModel): Promise<void> {
    // Consumers bind to the exchanges, which the publishing connection may not have declared yet.
    await ensureSharedTopology(model, this.#prefix);
    this.#consumingModel = model;
    for (const slot of this.#slots) slot.running = undefined;
    // An index loop: consumers registered while this runs are started too.
    for (let i = 0; i < this.#slots.length; i++) await this.#startConsumer(model, this.#slots[i]!);
  }

  async #startConsumer(model: ChannelModel, slot: ConsumerSlot): Promise<void> {
    clearTimeout(slot.retry);
    slot.retry = undefined;
    if (this.#consumingModel !== model || slot.running || this.state() === 'closed') return;
    const token = {};
    slot.token = token;
    try {
      const running = await startConsumer(model, slot.options, {
        logger: this.#options.logger,
        events: this,
        exchange: slot.exchange,
        queues: slot.queues,
        restart: (reason) => {
          if (slot.token !== token || this.#consumingModel !== model) return;
          this.#options.logger.warn({ reason, queue: slot.queues.queue }, 'consumer restarting');
          slot.running = undefined;
          slot.token = undefined;
          this.#retryConsumer(model, slot, reason);
        },
        track: (handling) => {
          this.#handlers.add(handling);
          void handling.finally(() => this.#handlers.delete(handling));
        },
      });
      if (slot.token !== token) return void (await running.stop());
      slot.running = running;
      slot.failure = undefined;
    } catch (error) {
      if (slot.token !== token) return;
      slot.token = undefined;
      this.#options.logger.error({ err: error, queue: slot.queues.queue }, 'consumer failed to start: retrying');
      this.#retryConsumer(model, slot, `${(error as Error).name}: ${(error as Error).message}`);
    }
  }

  #retryConsumer(model: ChannelModel, slot: ConsumerSlot, error: string) {
    slot.failure = { error, since: slot.failure?.since ?? new Date(), count: (slot.failure?.count ?? 0) + 1 };
    if (slot.retry || this.#consumingModel !== model) return;
    const { min, max } = this.#options.consumerRetryDelayMs ?? { min: 1_000, max: 60_000 };
    const delayMs = Math.min(max, min * 2 ** (slot.failure.count - 1));
    slot.retry = setTimeout(() => void this.#startConsumer(model, slot), delayMs);
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
