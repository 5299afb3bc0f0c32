import { envReader, readAmqpEnv, readInstanceEnv, readPostgresEnv, readTokenEnv } from '@hubspoke/kit';

/** Every variable the analytics spoke reads; nothing else in the service knows their names. */
export function loadConfig(env: NodeJS.ProcessEnv) {
  const read = envReader(env);
  const config = {
    ...readInstanceEnv(read, { port: 3004 }),
    ...readPostgresEnv(read),
    ...readAmqpEnv(read),
    ...readTokenEnv(read),
    /**
     * Days of raw events (and minute counts) kept before today; older day partitions are dropped. Daily
     * counts are kept for good. At least 1, so the partition being written today is never the one dropped.
     */
    retentionDays: read.int('ANALYTICS_RETENTION_DAYS', 90, { min: 1, max: 3660 }),
  };
  read.assertValid('analytics');
  return Object.freeze(config);
}

export type AnalyticsConfig = ReturnType<typeof loadConfig>;
