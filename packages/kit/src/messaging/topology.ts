import type { Channel } from 'amqplib';

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
  /** `<queue>.dlq`: poison messages and those that ran out of attempts, with the error in headers. */
  deadLetter: string;
  /** One queue per delay, `<queue>.retry.<ms>ms`, whose messages expire back into `queue`. */
  retry: { queue: string; delayMs: number }[];
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
    deadLetter: `${queue}.dlq`,
    retry: [...new Set(retryDelaysMs)].map((delayMs) => ({ queue: `${queue}.retry.${delayMs}ms`, delayMs })),
    bindings,
  };
}

/** Retry queue for the given attempt (1-based): delays grow with attempts and stay at the last one. */
export function retryQueueFor(queues: ConsumerQueues, attempt: number): { queue: string; delayMs: number } {
  const index = Math.min(Math.max(attempt, 1), queues.retry.length) - 1;
  const retry = queues.retry[index];
  if (!retry) throw new Error(`consumer ${queues.queue} has no retry delays`);
  return retry;
}

/** Fanout exchange and queue (same name) where events nobody subscribes to are parked. */
export function unroutedEvents(prefix: string): string {
  return withPrefix(prefix, UNROUTED_EVENTS);
}

/**
 * The events exchange, with an alternate exchange: for a domain event "no subscriber yet" is normal
 * (user.logged_in before analytics exists), so it is parked for a week instead of coming back as
 * unroutable, which would keep the outbox retrying it forever. Publishes stay `mandatory`: if even the
 * parking queue is missing, the broker returns the message and the publish fails.
 */
export async function declareEventsExchange(channel: Channel, prefix: string): Promise<string> {
  const exchange = eventsExchange(prefix);
  const unrouted = unroutedEvents(prefix);
  await channel.assertExchange(unrouted, 'fanout', { durable: true });
  await channel.assertQueue(unrouted, { durable: true, arguments: UNROUTED_RETENTION });
  await channel.bindQueue(unrouted, unrouted, '');
  await channel.assertExchange(exchange, 'topic', { durable: true, alternateExchange: unrouted });
  return exchange;
}

/**
 * The tasks exchange has no alternate exchange on purpose: a command or job nobody takes is a fault,
 * so the mandatory publish comes back unroutable and fails (the outbox keeps the row and retries it).
 */
export async function declareTasksExchange(channel: Channel, prefix: string): Promise<string> {
  const exchange = tasksExchange(prefix);
  await channel.assertExchange(exchange, 'topic', { durable: true });
  return exchange;
}

/** Task results, like tasks, must reach a queue: with the dispatcher's queue missing the publish fails and is retried. */
export async function declareResultsExchange(channel: Channel, prefix: string): Promise<string> {
  const exchange = resultsExchange(prefix);
  await channel.assertExchange(exchange, 'topic', { durable: true });
  return exchange;
}

/**
 * Declares a consumer's queues; idempotent, so it runs on every (re)connect. Retries use one queue per
 * delay with a queue-level TTL rather than per-message TTLs in one queue: RabbitMQ expires messages
 * only at the head of a queue, so a 30 s message would hold back a 1 s one behind it. Expired messages
 * dead-letter through the default exchange straight back into the main queue (no plugin; 3.10-safe).
 */
export async function declareConsumerQueues(channel: Channel, exchange: string, queues: ConsumerQueues, type: QueueType = 'classic'): Promise<void> {
  const typed = QUEUE_TYPE_ARGUMENTS[type];
  await channel.assertQueue(queues.deadLetter, { durable: true, arguments: typed.plain });
  for (const { queue, delayMs } of queues.retry) {
    await channel.assertQueue(queue, {
      durable: true,
      arguments: { ...typed.deadLettering, 'x-message-ttl': delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queues.queue },
    });
  }
  // The consumer moves failures itself (to add error headers); the queue's own dead-letter target only
  // catches what is rejected some other way, so nothing silently disappears.
  await channel.assertQueue(queues.queue, {
    durable: true,
    arguments: { ...typed.deadLettering, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': queues.deadLetter },
  });
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
