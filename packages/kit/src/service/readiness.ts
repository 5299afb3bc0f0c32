import type { Queryable } from '../db/pool.js';
import type { DependencyCheck } from '../http/health.js';
import type { Bus } from '../messaging/bus.js';
import { busReadinessCheck } from '../messaging/readiness.js';

/**
 * Readiness from what a service holds: without its own Postgres it cannot work (503); without RabbitMQ,
 * or with a consumer the broker refused, it still serves, its events waiting in the outbox (200, degraded).
 */
export function dependencyChecks({ db, bus }: { db?: Queryable; bus?: Pick<Bus, 'health'> }): Record<string, DependencyCheck> {
  return {
    ...(db ? { postgres: { critical: true, check: () => db.query('SELECT 1') } } : {}),
    ...(bus ? { rabbitmq: busReadinessCheck(bus) } : {}),
  };
}
