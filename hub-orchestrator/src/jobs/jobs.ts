import { TASK_RESULT_TYPE, taskResultsConsumer, type Bus, type TaskResult, type ConsumeOptions, type Lifecycle, type Logger, type Pool, type RegistryReader } from '@hubspoke/kit';
import type { Registry } from 'prom-client';
import { startDispatcher } from './dispatcher.js';
import { applyOutcomes, type AttemptOutcome } from './item-outcomes.js';
import { createJobMetrics } from './job-metrics.js';
import { jobRoutes, type JobLimits } from './job-routes.js';
import { jobStore } from './job-store.js';
import { jobWatch } from './job-watch.js';
import { taskCatalog } from './task-catalog.js';

export interface JobsOptions {
  db: Pool;
  bus: Bus;
  registry: Pick<RegistryReader, 'instances'>;
  logger: Logger;
  metricsRegistry: Registry;
  lifecycle: Pick<Lifecycle, 'isDraining'>;
  config: JobLimits & { dispatchIntervalMs: number; eventsHeartbeatMs: number };
}

const RESULTS_PREFETCH = 256;

/** The hub's jobs: the dispatcher (started here), the results consumer, the API routes and the event streams. */
export function startJobs({ db, bus, registry, logger, metricsRegistry, lifecycle, config }: JobsOptions) {
  const log = logger.child({ component: 'jobs' });
  const store = jobStore(db);
  const metrics = createJobMetrics({ registry: metricsRegistry, db, logger: log });
  const dispatcher = startDispatcher({
    db, bus, logger: log, intervalMs: config.dispatchIntervalMs, canDispatch: () => bus.isConnected(),
    onOutcome: metrics.outcome, onDispatched: metrics.dispatched,
  });
  const watch = jobWatch({ store, logger: log, pollMs: 250, heartbeatMs: config.eventsHeartbeatMs, isDraining: lifecycle.isDraining });
  const results: ConsumeOptions = taskResultsConsumer({
    db,
    // Results are recorded in batches, one transaction (one connection) per batch: a wide window lets a busy
    // replica fold hundreds into one write instead of capping batches at a handful.
    prefetch: RESULTS_PREFETCH,
    handler: async (batch, tx) => {
      const applied = await applyOutcomes(tx, batch.map((result) => ({ at: result, outcome: attemptOutcome(result) })));
      applied.forEach(metrics.outcome);
    },
  });
  // A recorded result frees a slot: dispatch as soon as its transaction has committed.
  const onConsumed = ({ envelope }: { envelope: { type: string } }) => {
    if (envelope.type === TASK_RESULT_TYPE) dispatcher.wakeSoon();
  };
  bus.on('consumed', onConsumed);

  return {
    consumer: results,
    routes: jobRoutes({ store, catalog: taskCatalog(registry), watch, limits: config, onWork: dispatcher.wake }),
    async stop() {
      bus.off('consumed', onConsumed);
      watch.close();
      await dispatcher.stop();
    },
  };
}

export type Jobs = ReturnType<typeof startJobs>;

function attemptOutcome(result: TaskResult): AttemptOutcome {
  switch (result.outcome) {
    case 'succeeded': return { kind: 'succeeded', result: result.result, durationMs: result.durationMs };
    case 'failed': return { kind: 'failed', permanent: result.permanent, error: result.error, durationMs: result.durationMs };
    case 'throttled': return { kind: 'throttled', retryAfterMs: result.retryAfterMs, durationMs: result.durationMs };
  }
}
