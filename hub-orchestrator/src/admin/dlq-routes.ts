import { defineRoute, deadLetterQueues, notFound, replayDeadLetters, serviceUnavailable, type ApiRoute, type Logger } from '@hubspoke/kit';
import { Gauge, type Registry } from 'prom-client';
import { z } from 'zod';

export interface DlqDeps {
  /** RABBITMQ_MANAGEMENT_URL: without it the routes answer 503. */
  managementUrl: string | undefined;
  amqpUrl: string;
  amqpPrefix: string;
  metricsRegistry: Registry;
  logger: Logger;
}

const dlqUnavailable = () => serviceUnavailable('HUB.DLQ_UNAVAILABLE', 'Dead-letter queues cannot be read: RABBITMQ_MANAGEMENT_URL is not set or the management API does not answer', 5);
const dlqNotFound = () => notFound('HUB.DLQ_NOT_FOUND', 'No such dead-letter queue');

const DeadLetter = z.object({
  messageId: z.string().nullable(), type: z.string().nullable(), correlationId: z.string().nullable(), error: z.string().nullable(),
  attempts: z.int().nullable(), exchange: z.string().nullable(), routingKey: z.string().nullable(),
});
const DlqList = z.object({
  queues: z.array(z.object({ name: z.string(), messages: z.int(), newest: z.array(DeadLetter).meta({ description: 'Newest first, from the first 50 messages' }) })),
}).meta({ id: 'DeadLetterQueues' });
const ReplayBody = z.object({ limit: z.int().min(1).max(1_000).default(100) }).strict();
const ReplayReport = z.object({
  queue: z.string(), replayed: z.int(), failed: z.array(z.object({ messageId: z.string().nullable(), reason: z.string() })), remaining: z.int(),
}).meta({ id: 'ReplayReport' });

const PEEK = 50;
const NEWEST = 10;

/** `GET /api/hub/dlq` and `POST /api/hub/dlq/:queue/replay` (admins), plus `hub_dlq_depth`. */
export function dlqRoutes({ managementUrl, amqpUrl, amqpPrefix, metricsRegistry, logger }: DlqDeps): ApiRoute[] {
  const management = managementUrl ? deadLetterQueues({ url: managementUrl, prefix: amqpPrefix }) : undefined;
  const reachable = () => {
    if (!management) throw dlqUnavailable();
    return management;
  };
  new Gauge({
    name: 'hub_dlq_depth', help: 'Messages in each dead-letter queue (from the RabbitMQ management API)', labelNames: ['queue'] as const, registers: [metricsRegistry],
    async collect() {
      this.reset();
      try {
        for (const queue of await management?.list() ?? []) this.set({ queue: queue.name }, queue.messages);
      } catch (error) {
        logger.debug({ err: error }, 'dlq depth: management API unavailable');
      }
    },
  });

  return [
    defineRoute({
      method: 'get', path: '/dlq', role: 'admin', tags: ['hub'], summary: 'The platform\'s dead-letter queues, their depth and newest messages (admins)',
      response: { description: 'Every `*.dlq` queue', body: DlqList, headers: { 'Cache-Control': 'no-store' } },
      errors: [dlqUnavailable],
      handler: async () => {
        const queues = await reachable().list(PEEK).catch((error: unknown) => {
          logger.warn({ err: error }, 'dlq: management API failed');
          throw dlqUnavailable();
        });
        return { queues: queues.map((queue) => ({ ...queue, newest: queue.newest.slice(0, NEWEST) })) };
      },
    }),
    defineRoute({
      method: 'post', path: '/dlq/:queue/replay', role: 'admin', tags: ['hub'],
      summary: 'Republish dead letters to their original exchange and routing key, keeping their correlation id (admins)',
      request: { params: z.object({ queue: z.string().max(255) }), body: ReplayBody },
      response: { description: 'What was replayed and what is left', body: ReplayReport, headers: { 'Cache-Control': 'no-store' } },
      errors: [dlqUnavailable, dlqNotFound],
      handler: async ({ params, body }) => {
        const known = await reachable().list().catch(() => {
          throw dlqUnavailable();
        });
        if (!known.some((queue) => queue.name === params.queue)) throw dlqNotFound();
        const report = await replayDeadLetters({ amqpUrl, queue: params.queue, limit: body.limit });
        logger.info({ queue: report.queue, replayed: report.replayed, failed: report.failed.length }, 'dead letters replayed');
        return report;
      },
    }),
  ];
}
