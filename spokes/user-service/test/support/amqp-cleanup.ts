import amqp from 'amqplib';
import type { ConsumerQueues } from '@hubspoke/kit';
import { testAmqpUrl } from '@hubspoke/kit/testing';

/** The kit bus's default retry delays: each has its own `<queue>.retry.<ms>ms` queue. */
const DEFAULT_RETRY_DELAYS_MS = [1_000, 10_000, 60_000];

/** A consumer's queue by full name (`<prefix>.<service>.<name>`, default retry delays), or as `bus.consume` reported it. */
type DeclaredQueues = string | Pick<ConsumerQueues, 'queue' | 'deadLetter' | 'retry'>;

const namesOf = (queues: DeclaredQueues): string[] => typeof queues === 'string'
  ? [queues, `${queues}.dlq`, ...DEFAULT_RETRY_DELAYS_MS.map((ms) => `${queues}.retry.${ms}ms`)]
  : [queues.queue, queues.deadLetter, ...queues.retry.map((r) => r.queue)];

/** Deletes what a test declared on the shared broker: each consumer's queues, and the prefixed events exchange. */
export async function deleteTestTopology(prefix: string, consumers: DeclaredQueues[]): Promise<void> {
  const connection = await amqp.connect(testAmqpUrl());
  try {
    const channel = await connection.createChannel();
    for (const name of consumers.flatMap(namesOf)) await channel.deleteQueue(name);
    await channel.deleteExchange(`${prefix}.events`);
  } finally {
    await connection.close();
  }
}
