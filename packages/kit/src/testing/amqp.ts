import amqp, { type Options } from 'amqplib';
import { DEFAULT_RETRY_DELAYS_MS, eventsExchange, resultsExchange, tasksExchange, unroutedEvents, type ConsumerQueues } from '../messaging/index.js';
import { testAmqpUrl } from './env.js';

/** A consumer's queue by full name (`<prefix>.<service>.<name>`, default retry delays), or as `bus.consume` reported it. */
export type DeclaredQueues = string | Pick<ConsumerQueues, 'queue' | 'deadLetter' | 'retry'> & Partial<Pick<ConsumerQueues, 'requeue'>>;

/** Every queue name a consumer declared: main, dead-letter and retry queues. */
export const queueNamesOf = (queues: DeclaredQueues): string[] => typeof queues === 'string'
  ? [queues, `${queues}.dlq`, ...DEFAULT_RETRY_DELAYS_MS.map((ms) => `${queues}.retry.${ms}ms`)]
  : [queues.queue, queues.deadLetter, ...queues.retry.map((r) => r.queue)];

/** A plain channel on the shared broker, for what the bus must not do itself: raw publishes, peeking into queues. */
export async function withAmqpChannel<T>(work: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(testAmqpUrl());
  try {
    return await work(await connection.createChannel());
  } finally {
    await connection.close();
  }
}

/** `<prefix>.<service>.requeue`, where a consumer's retries and dead letters go (`<prefix>.<service>.<name>` names the service). */
const requeueOf = (prefix: string, queues: DeclaredQueues): string => {
  if (typeof queues !== 'string' && queues.requeue) return queues.requeue;
  const queue = typeof queues === 'string' ? queues : queues.queue;
  const service = (prefix ? queue.slice(prefix.length + 1) : queue).split('.')[0]!;
  return prefix ? `${prefix}.${service}.requeue` : `${service}.requeue`;
};

/** Deletes what a test declared on the shared broker: each consumer's queues and requeue exchange, and the prefixed exchanges. */
export function deleteTestTopology(prefix: string, consumers: DeclaredQueues[] = []): Promise<void> {
  return withAmqpChannel(async (channel) => {
    for (const name of [...consumers.flatMap(queueNamesOf), unroutedEvents(prefix)]) await channel.deleteQueue(name);
    for (const name of new Set(consumers.map((queues) => requeueOf(prefix, queues)))) await channel.deleteExchange(name);
    await channel.deleteExchange(eventsExchange(prefix));
    await channel.deleteExchange(tasksExchange(prefix));
    await channel.deleteExchange(resultsExchange(prefix));
    await channel.deleteExchange(unroutedEvents(prefix));
  });
}

/** Publishes bytes the bus would never produce (poison), waiting for the confirm; on the shared broker unless `url` names another. */
export async function publishRaw(exchange: string, routingKey: string, content: Buffer, options: Options.Publish = {}, url = testAmqpUrl()): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    channel.publish(exchange, routingKey, content, { persistent: true, contentType: 'application/json', ...options });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}
