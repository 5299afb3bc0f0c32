import { fileURLToPath } from 'node:url';
import type { AppContext, ServiceDefinition } from '@hubspoke/kit';
import { registerAnalyticsMetrics } from './analytics-metrics.js';
import { createApp } from './app.js';
import type { AnalyticsConfig } from './config.js';
import { aggregateTask } from './consumers/aggregate-task.js';
import { eventsConsumer } from './consumers/events-consumer.js';
import { createIngestion } from './domain/ingestion.js';
import { maintainPartitions } from './domain/partition-maintenance.js';
import { createQueries } from './domain/queries.js';

/** Partitions are checked this often; they are created a week ahead, so a missed run or two changes nothing. */
const MAINTENANCE_INTERVAL_MS = 60 * 60_000;

/** Everything the kit needs to start the analytics spoke; `main.ts` runs it, tests start it the same way. */
export function analyticsService(config: AnalyticsConfig): ServiceDefinition<AnalyticsConfig, AnalyticsDomain> {
  return {
    name: 'analytics',
    version: '0.1.0',
    config,
    migrationsDir: fileURLToPath(new URL('../migrations', import.meta.url)),
    registration: { routePrefix: 'analytics' },
    domain: async ({ db, bus, logger, metrics, onStop }) => {
      const { retentionDays } = config;
      // Before any consumer starts: every event in the retention window must find its partition.
      await maintainPartitions({ db, logger, retentionDays });
      const timer = setInterval(() => {
        maintainPartitions({ db, logger, retentionDays }).catch((error: unknown) => logger.error({ err: error }, 'partition maintenance failed'));
      }, MAINTENANCE_INTERVAL_MS);
      timer.unref();
      onStop('partition maintenance', () => clearInterval(timer));
      const { onExpired } = registerAnalyticsMetrics({ registry: metrics.registry, bus, db, logger });
      return {
        ingestion: createIngestion({ db, logger, retentionDays, onExpired }),
        queries: createQueries({ db, retentionDays }),
      };
    },
    consumers: (context) => [eventsConsumer(context)],
    tasks: (context) => [aggregateTask(context)],
    createApp,
  };
}

export type AnalyticsDomain = {
  ingestion: ReturnType<typeof createIngestion>;
  queries: ReturnType<typeof createQueries>;
};
export type AnalyticsContext = AppContext<AnalyticsConfig, AnalyticsDomain>;
