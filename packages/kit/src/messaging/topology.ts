import type { Channel, ChannelModel } from 'amqplib';

/**
 * The only place that spells exchange and queue names. Every name takes a prefix: tests pass
 * `uniquePrefix()` so runs never collide on a shared broker; production passes ''.
 */
const EVENTS_EXCHANGE = 'events';
const TASKS_EXCHANGE = 'tasks';
const RESULTS_EXCHANGE = 'task-results';
const UNROUTED_EVENTS = 'events.unrouted';
const UNROUTED_RETENTION = { 'x-message-ttl': 7 * 24 * 3_600_000, 'x-max-length': 100_000 };

/**
 * `events`: facts, fine with no subscriber (parked). `tasks`: commands and work, which fail when no queue
 * takes them. `results`: what a task's worker answers, back to whoever dispatched it (the hub).
 */
export type ExchangeKind = 'events' | 'tasks' | 'results';
export type QueueType = 'classic' | 'quorum';

export interface ConsumerQueues {
  /** `<service>.<name>`: bound to the events exchange with `bindings`. */
  queue: string;
  /**
   * `<service>.requeue`: a direct exchange where each of the service's queues is bound under its own name. Retries and
   * dead letters go through it, never through the default exchange: a broker user allowed to publish to the default
   * exchange could put a forged message straight into any service's queue (docs/messaging.md, "Broker users").
   */
  requeue: string;
  /** `<queue>.dlq`: poison messages and those that ran out of attempts, with the error in headers. */
  deadLetter: string;
  /**
   * One queue per distinct delay, `<queue>.retry.<ms>ms`, whose messages expire back into `queue`. The name spells the
   * delay: a new schedule declares new queues instead of redeclaring old ones with another TTL (PRECONDITION_FAILED).
   */
  retry: { queue: string; delayMs: number }[];
  /** The delay before each retry, in order (a delay may repeat); the last one repeats. */
  retryDelaysMs: number[];
  bindings: string[];
}

export interface ConsumerQueuesSpec {
  prefix: string;
  service: string;
  name: string;
  bindings: string[];
  retryDelaysMs: number[];
}

const withPrefix = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

export function eventsExchange(prefix: string): string {
  return withPrefix(prefix, EVENTS_EXCHANGE);
}

export function tasksExchange(prefix: string): string {
  return withPrefix(prefix, TASKS_EXCHANGE);
}

export function resultsExchange(prefix: string): string {
  return withPrefix(prefix, RESULTS_EXCHANGE);
}

export function exchangeOf(kind: ExchangeKind, prefix: string): string {
  switch (kind) {
    case 'tasks': return tasksExchange(prefix);
    case 'results': return resultsExchange(prefix);
    case 'events': return eventsExchange(prefix);
  }
}

export function consumerQueues({ prefix, service, name, bindings, retryDelaysMs }: ConsumerQueuesSpec): ConsumerQueues {
  const queue = withPrefix(prefix, `${service}.${name}`);
  return {
    queue,
    requeue: withPrefix(prefix, `${service}.requeue`),
    deadLetter: `${queue}.dlq`,
    retry: [...new Set(retryDelaysMs)].map((delayMs) => ({ queue: `${queue}.retry.${delayMs}ms`, delayMs })),
    retryDelaysMs: [...retryDelaysMs],
    bindings,
  };
}

/** Retry queue after the given attempt (1-based): the schedule's delay for it, the last one once the schedule runs out. */
export function retryQueueFor(queues: ConsumerQueues, attempt: number): { queue: string; delayMs: number } {
  const { retryDelaysMs: schedule } = queues;
  const delayMs = schedule[Math.min(Math.max(attempt, 1), schedule.length) - 1];
  const retry = queues.retry.find((r) => r.delayMs === delayMs);
  if (!retry) throw new Error(`consumer ${queues.queue} has no retry delays`);
  return retry;
}

/** Fanout exchange and queue (same name) where events nobody subscribes to are parked. */
export function unroutedEvents(prefix: string): string {
  return withPrefix(prefix, UNROUTED_EVENTS);
}

export interface SharedTopology {
  exchanges: { name: string; type: 'topic' | 'fanout'; arguments: Record<string, string> }[];
  queues: { name: string; arguments: Record<string, number> }[];
  bindings: { source: string; destination: string; routingKey: string }[];
}

/**
 * The exchanges every service shares, and the queue parking unrouted events. The events exchange has an alternate
 * exchange: for a domain event "no subscriber yet" is normal (user.logged_in before analytics exists), so it is parked
 * for a week instead of coming back as unroutable, which would keep the outbox retrying it forever; publishes stay
 * `mandatory`, so if even the parking queue is missing the publish fails. The tasks and results exchanges have none on
 * purpose: a command, job or result nobody takes is a fault, so it comes back unroutable and the outbox retries it.
 * In compose the broker's definitions (data-config/rabbitmq) declare these, and services may not redeclare them.
 */
export function sharedTopology(prefix: string): SharedTopology {
  const unrouted = unroutedEvents(prefix);
  return {
    exchanges: [
      { name: unrouted, type: 'fanout', arguments: {} },
      { name: eventsExchange(prefix), type: 'topic', arguments: { 'alternate-exchange': unrouted } },
      { name: tasksExchange(prefix), type: 'topic', arguments: {} },
      { name: resultsExchange(prefix), type: 'topic', arguments: {} },
    ],
    queues: [{ name: unrouted, arguments: UNROUTED_RETENTION }],
    bindings: [{ source: unrouted, destination: unrouted, routingKey: '' }],
  };
}

/** Declares the shared topology (declaring needs the broker's `configure` permission on each name). */
export async function declareSharedTopology(channel: Channel, prefix: string): Promise<void> {
  const { exchanges, queues, bindings } = sharedTopology(prefix);
  for (const { name, type, arguments: args } of exchanges) await channel.assertExchange(name, type, { durable: true, arguments: args });
  for (const { name, arguments: args } of queues) await channel.assertQueue(name, { durable: true, arguments: args });
  for (const { source, destination, routingKey } of bindings) await channel.bindQueue(destination, source, routingKey);
}

/**
 * Makes sure the shared topology exists: checked passively first, which needs no permission, so a service whose broker
 * user may not configure the shared exchanges works where they were declared for it; declared only when missing (a
 * test's prefix, a broker without definitions).
 */
export async function ensureSharedTopology(model: ChannelModel, prefix: string): Promise<void> {
  const { exchanges, queues } = sharedTopology(prefix);
  const probe = await model.createChannel();
  // A missing name closes the channel with a 404: the rejection below says so; the event would only repeat it.
  probe.on('error', () => undefined);
  try {
    for (const { name } of exchanges) await probe.checkExchange(name);
    for (const { name } of queues) await probe.checkQueue(name);
    await probe.close();
    return;
  } catch {
    // Something is missing: declare it all (idempotent) on a fresh channel.
  }
  const channel = await model.createChannel();
  try {
    await declareSharedTopology(channel, prefix);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** The events exchange, declared with its parking queue; returns its name. */
export async function declareEventsExchange(channel: Channel, prefix: string): Promise<string> {
  await declareSharedTopology(channel, prefix);
  return eventsExchange(prefix);
}

/**
 * Declares a consumer's queues; idempotent, so it runs on every (re)connect. Retries use one queue per
 * delay with a queue-level TTL rather than per-message TTLs in one queue: RabbitMQ expires messages
 * only at the head of a queue, so a 30 s message would hold back a 1 s one behind it. Expired messages
 * dead-letter through the service's requeue exchange straight back into the main queue (no plugin; 3.10-safe).
 */
export async function declareConsumerQueues(channel: Channel, exchange: string, queues: ConsumerQueues, type: QueueType = 'classic'): Promise<void> {
  const typed = QUEUE_TYPE_ARGUMENTS[type];
  const { requeue } = queues;
  await channel.assertExchange(requeue, 'direct', { durable: true });
  await channel.assertQueue(queues.deadLetter, { durable: true, arguments: typed.plain });
  await channel.bindQueue(queues.deadLetter, requeue, queues.deadLetter);
  for (const { queue, delayMs } of queues.retry) {
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { ...typed.deadLettering, 'x-message-ttl': delayMs, 'x-dead-letter-exchange': requeue, 'x-dead-letter-routing-key': queues.queue },
    });
    await channel.bindQueue(queue, requeue, queue);
  }
  // The consumer moves failures itself (to add error headers); the queue's own dead-letter target only
  // catches what is rejected some other way, so nothing silently disappears.
  await channel.assertQueue(queues.queue, {
    durable: true,
    arguments: { ...typed.deadLettering, 'x-dead-letter-exchange': requeue, 'x-dead-letter-routing-key': queues.deadLetter },
  });
  await channel.bindQueue(queues.queue, requeue, queues.queue);
  for (const pattern of queues.bindings) await channel.bindQueue(queues.queue, exchange, pattern);
}

// A quorum queue dead-letters at most once by default; at-least-once (which needs reject-publish
// overflow) keeps a retry queue's expiring messages from being lost between it and the main queue.
const QUEUE_TYPE_ARGUMENTS: Record<QueueType, { plain: Record<string, unknown>; deadLettering: Record<string, unknown> }> = {
  classic: { plain: {}, deadLettering: {} },
  quorum: {
    plain: { 'x-queue-type': 'quorum' },
    deadLettering: { 'x-queue-type': 'quorum', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' },
  },
};

/** AMQP topic matching: `*` is exactly one word, `#` zero or more. */
export function matchesBinding(pattern: string, routingKey: string): boolean {
  return matchWords(pattern.split('.'), routingKey.split('.'));
}

function matchWords(pattern: string[], key: string[]): boolean {
  if (pattern.length === 0) return key.length === 0;
  const [head, ...rest] = pattern;
  if (head === '#') return matchWords(rest, key) || (key.length > 0 && matchWords(pattern, key.slice(1)));
  return key.length > 0 && (head === '*' || head === key[0]) && matchWords(rest, key.slice(1));
}
