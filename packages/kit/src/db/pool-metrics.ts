import type pg from 'pg';
import { Gauge, type Registry } from 'prom-client';

/**
 * `db_pool_connections{state}`: connections open and idle, and queries waiting for one, read from the pool at
 * scrape time. Waiting above zero for long means the pool, not Postgres, is the bottleneck.
 */
export function instrumentPool(pool: pg.Pool, registry: Registry): void {
  new Gauge({
    name: 'db_pool_connections',
    help: 'Postgres pool: open connections (total), idle ones, and queries waiting for a connection',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
}
