import amqp, { type GetMessage } from 'amqplib';
import { ORIGINAL_EXCHANGE_HEADER, ORIGINAL_ROUTING_KEY_HEADER } from './consumer.js';

/** One dead letter as an operator needs to see it. */
export interface DeadLetter {
  messageId: string | null;
  type: string | null;
  correlationId: string | null;
  error: string | null;
  attempts: number | null;
  exchange: string | null;
  routingKey: string | null;
}

export interface DeadLetterQueue {
  name: string;
  /** As the management API last sampled it (every few seconds). */
  messages: number;
  /** The newest of the first `peek` messages, newest first. */
  newest: DeadLetter[];
}

export interface ManagementOptions {
  /** `http://user:password@host:15672`: the credentials go into a Basic header, never into a logged URL. */
  url: string;
  vhost?: string;
  /** Only queues under this prefix (the service's AMQP_PREFIX) are listed. */
  prefix?: string;
  timeoutMs?: number;
}

/**
 * Dead-letter queues through RabbitMQ's management HTTP API: names, depths and a look at their messages.
 * Peeking takes messages and requeues them (`ack_requeue_true`), which puts a classic queue's messages back
 * in place; it never removes one.
 */
export function deadLetterQueues({ url, vhost = '/', prefix = '', timeoutMs = 5_000 }: ManagementOptions) {
  const base = new URL(url);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString('base64')}`;
  base.username = '';
  base.password = '';
  const api = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(`/api/${path}`, base), {
      ...init, headers: { authorization, 'content-type': 'application/json' }, signal: AbortSignal.timeout(timeoutMs),
    });
    if (!res.ok) throw new Error(`RabbitMQ management API ${init.method ?? 'GET'} /api/${path.split('?')[0]}: ${res.status}`);
    return res.json() as Promise<unknown>;
  };
  const vhostPath = encodeURIComponent(vhost);
  const ours = (name: string) => name.endsWith('.dlq') && (prefix === '' || name.startsWith(`${prefix}.`));

  return {
    /** Every dead-letter queue (`*.dlq`) under the prefix, with its depth; `peek` > 0 also reads its newest messages. */
    async list(peek = 0): Promise<DeadLetterQueue[]> {
      const queues = (await api(`queues/${vhostPath}?columns=name,messages`)) as { name: string; messages?: number }[];
      const found = queues.filter((queue) => ours(queue.name)).sort((a, b) => a.name.localeCompare(b.name));
      return Promise.all(found.map(async (queue) => ({
        name: queue.name,
        messages: queue.messages ?? 0,
        newest: peek > 0 && (queue.messages ?? 0) > 0 ? await this.peek(queue.name, peek) : [],
      })));
    },
    async peek(queue: string, count: number): Promise<DeadLetter[]> {
      const messages = (await api(`queues/${vhostPath}/${encodeURIComponent(queue)}/get`, {
        method: 'POST', body: JSON.stringify({ count, ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 2_000 }),
      })) as { properties?: { message_id?: string; type?: string; correlation_id?: string; headers?: Record<string, unknown> } }[];
      return messages.map(({ properties = {} }) => describeDeadLetter(properties)).reverse();
    },
    /** Whether `queue` is one of the dead-letter queues this lists. */
    owns: ours,
  };
}

function describeDeadLetter(p: { message_id?: string; type?: string; correlation_id?: string; headers?: Record<string, unknown> }): DeadLetter {
  const headers = p.headers ?? {};
  const text = (value: unknown) => (typeof value === 'string' ? value : null);
  return {
    messageId: text(p.message_id), type: text(p.type), correlationId: text(p.correlation_id),
    error: text(headers['x-last-error']), attempts: typeof headers['x-attempts'] === 'number' ? headers['x-attempts'] : null,
    exchange: text(headers[ORIGINAL_EXCHANGE_HEADER]), routingKey: text(headers[ORIGINAL_ROUTING_KEY_HEADER]),
  };
}

export interface ReplayReport {
  queue: string;
  replayed: number;
  /** Messages left in the dead-letter queue, each with why (no original exchange recorded, unroutable, refused). */
  failed: { messageId: string | null; reason: string }[];
  remaining: number;
}

/**
 * Republishes up to `limit` dead letters to the exchange and routing key they were first published to,
 * keeping their id and correlation id, with a fresh attempt count. Each is removed from the dead-letter
 * queue only after the broker confirmed its republication and a queue took it; the others go back.
 */
export async function replayDeadLetters({ amqpUrl, queue, limit }: { amqpUrl: string; queue: string; limit: number }): Promise<ReplayReport> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    let returned = false;
    channel.on('return', () => {
      returned = true;
    });
    const kept: GetMessage[] = [];
    const report: ReplayReport = { queue, replayed: 0, failed: [], remaining: 0 };
    // Only what was there at the start: a replayed message that fails again comes back behind these, and must wait for the next replay.
    const present = (await channel.checkQueue(queue)).messageCount;
    for (let i = 0; i < Math.min(limit, present); i++) {
      const message = await channel.get(queue, { noAck: false });
      if (!message) break;
      const { headers = {}, messageId, correlationId, type, appId, timestamp, contentType } = message.properties;
      const id = typeof messageId === 'string' ? messageId : null;
      const exchange = headers[ORIGINAL_EXCHANGE_HEADER];
      const routingKey = headers[ORIGINAL_ROUTING_KEY_HEADER];
      if (typeof exchange !== 'string' || typeof routingKey !== 'string') {
        kept.push(message);
        report.failed.push({ messageId: id, reason: 'no original exchange and routing key recorded' });
        continue;
      }
      const fresh = Object.fromEntries(Object.entries(headers as Record<string, unknown>).filter(([name]) => name !== 'x-attempts' && name !== 'x-last-error'));
      returned = false;
      try {
        // Publishes go one at a time: a `return` (unroutable) arrives before its confirm, so it belongs to this message.
        await new Promise<void>((resolve, reject) => {
          channel.publish(exchange, routingKey, message.content, {
            messageId, correlationId, type, appId, timestamp, contentType, persistent: true, mandatory: true,
            headers: { ...fresh, 'x-replayed-from': queue },
          }, (error) => (error ? reject(new Error('the broker refused it')) : resolve()));
        });
      } catch (error) {
        kept.push(message);
        report.failed.push({ messageId: id, reason: (error as Error).message });
        continue;
      }
      if (returned) {
        kept.push(message);
        report.failed.push({ messageId: id, reason: `unroutable: no queue is bound to ${routingKey} on ${exchange}` });
        continue;
      }
      channel.ack(message);
      report.replayed++;
    }
    for (const message of kept) channel.nack(message, false, true);
    report.remaining = (await channel.checkQueue(queue)).messageCount;
    await channel.close();
    return report;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
