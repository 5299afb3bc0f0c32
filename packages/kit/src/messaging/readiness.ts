import type { DependencyCheck } from '../http/health.js';
import type { Bus } from './bus.js';

/**
 * RabbitMQ for /ready: fails while either connection is down or any consumer is not running (a queue
 * whose declaration the broker refuses, say), naming them in the error. Not critical by default: a
 * spoke that publishes through the outbox still serves without its broker, degraded.
 */
export function busReadinessCheck(bus: Pick<Bus, 'health'>, { critical = false }: { critical?: boolean } = {}): DependencyCheck {
  return {
    critical,
    check: () => {
      const { state, consumers } = bus.health();
      if (state !== 'connected') throw new Error(`RabbitMQ is ${state}`);
      const failing = consumers.filter((consumer) => consumer.error !== undefined);
      if (failing.length > 0) throw new Error(`consumers not running: ${failing.map((c) => `${c.queue} (${c.error})`).join('; ')}`);
    },
  };
}
