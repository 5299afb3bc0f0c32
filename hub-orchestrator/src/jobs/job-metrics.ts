import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger, Pool } from '@hubspoke/kit';
import type { AppliedOutcome } from './item-outcomes.js';

/**
 * Jobs by type and status and items in flight are read from Postgres at scrape time (every replica
 * reports the same platform-wide numbers: take one, don't sum); counters and durations are this replica's.
 */
export function createJobMetrics({ registry, db, logger }: { registry: Registry; db: Pool; logger: Logger }) {
  const registers = [registry];
  new Gauge({
    name: 'hub_jobs', help: 'Jobs by task type and status (all replicas: read from the database)', labelNames: ['type', 'status'] as const, registers,
    async collect() {
      this.reset();
      const rows = await read<{ type: string; status: string; n: number }>('SELECT type, status, count(*)::int AS n FROM jobs GROUP BY type, status');
      for (const row of rows) this.set({ type: row.type, status: row.status }, row.n);
    },
  });
  new Gauge({
    name: 'hub_job_items_in_flight', help: 'Items dispatched and awaiting a result, by task type (all replicas)', labelNames: ['type'] as const, registers,
    async collect() {
      this.reset();
      const rows = await read<{ type: string; n: number }>(`SELECT type, sum(running)::int AS n FROM jobs WHERE status IN ('queued', 'running') GROUP BY type`);
      for (const row of rows) this.set({ type: row.type }, row.n);
    },
  });
  const dispatched = new Counter({ name: 'hub_job_items_dispatched_total', help: 'Attempts dispatched by this replica', labelNames: ['type'] as const, registers });
  const retries = new Counter({ name: 'hub_job_item_retries_total', help: 'Attempts that failed (or timed out) and will be tried again', labelNames: ['type'] as const, registers });
  const throttles = new Counter({ name: 'hub_job_throttles_total', help: 'Attempts a worker answered "throttled": the job paused', labelNames: ['type'] as const, registers });
  const duration = new Histogram({
    name: 'hub_job_item_duration_seconds', help: 'Time a worker spent on an attempt, by task type and what became of the item',
    labelNames: ['type', 'outcome'] as const, buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60], registers,
  });

  // A scrape during a database outage reports what it can rather than failing the whole scrape.
  async function read<T>(sql: string): Promise<T[]> {
    try {
      return (await db.query(sql)).rows as T[];
    } catch (error) {
      logger.debug({ err: error }, 'job metrics: database unavailable');
      return [];
    }
  }

  return {
    dispatched: (type: string, count: number) => dispatched.inc({ type }, count),
    outcome({ type, item, durationMs }: AppliedOutcome) {
      if (item === 'retrying') retries.inc({ type });
      if (item === 'throttled') {
        retries.inc({ type });
        throttles.inc({ type });
      }
      duration.observe({ type, outcome: item }, durationMs / 1000);
    },
  };
}
