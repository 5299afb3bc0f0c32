import { Counter, Gauge, type Registry } from 'prom-client';
import type { Bus } from './bus.js';

/** `amqp_*` metrics, fed by the bus's own events and read from its health at scrape time. One bus per registry. */
export function instrumentBus(bus: Bus, registry: Registry): void {
  const published = new Counter({
    name: 'amqp_published_total',
    help: 'Publishes by outcome: acked, or the failure reason (UNROUTABLE, CONFIRM_TIMEOUT, …)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const settled = new Counter({
    name: 'amqp_deliveries_total',
    help: 'Deliveries settled by consumers, by queue and outcome (consumed, duplicate, retried, dead_lettered)',
    labelNames: ['queue', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'amqp_connected',
    help: '1 while publishing and consuming connections are both up',
    registers: [registry],
    collect() {
      this.set(bus.isConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'amqp_consumer_failing',
    help: '1 for a consumer that is not running (its declaration failed or its channel broke) and is being retried',
    labelNames: ['queue'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const consumer of bus.health().consumers) this.set({ queue: consumer.queue }, consumer.error ? 1 : 0);
    },
  });
  bus.on('acked', () => published.inc({ outcome: 'acked' }));
  bus.on('nacked', ({ error }) => published.inc({ outcome: String((error.details as { reason?: string } | undefined)?.reason ?? error.code) }));
  bus.on('consumed', ({ queue, duplicate }) => settled.inc({ queue, outcome: duplicate ? 'duplicate' : 'consumed' }));
  bus.on('retried', ({ queue }) => settled.inc({ queue, outcome: 'retried' }));
  bus.on('dead-lettered', ({ queue }) => settled.inc({ queue, outcome: 'dead_lettered' }));
}
