import { AppError, rejectTask, serveTasks, type TaskServer } from '@hubspoke/kit';
import { z } from 'zod';
import { rebuildRollups } from '../domain/rollups.js';
import type { AnalyticsContext } from '../service.js';

export const AGGREGATE_TASK = 'analytics.aggregate';

/**
 * Chunks in this instance at once: each holds a pool connection for its transaction, so rebuilds never take
 * the connections ingestion and the queries need. More replicas, more chunks in parallel.
 */
const AGGREGATE_PREFETCH = 4;

const Moment = z.union([z.iso.date(), z.iso.datetime({ offset: true })]).transform((value) => new Date(value));

/** One item: a range, recounted whole in one transaction; a job sends a long range as one item per day. */
export const AggregateInput = z.strictObject({
  from: Moment.meta({ description: 'First day (YYYY-MM-DD, or an ISO 8601 time, widened down to its UTC day)' }),
  to: Moment.meta({ description: 'End, exclusive (YYYY-MM-DD, or a time, widened up to a UTC midnight); at most 366 days after `from`' }),
});

/**
 * Hub tasks `analytics.aggregate` (admins only): each item rebuilds the counts of its range from the stored
 * events in the task's transaction, so the counts commit with the item's outcome, and a redelivered or
 * retried item recounts to the same result. A range the queries would refuse (empty, over 366 days,
 * before the retention) fails its item at once: retrying cannot help.
 */
export function aggregateTask({ config, logger }: Pick<AnalyticsContext, 'config' | 'logger'>): TaskServer {
  return serveTasks(AGGREGATE_TASK, async ({ jobId, itemKey, input, creator }, tx) => {
    // The hub lets only admins submit it; checked here too, as every spoke checks the token it is given.
    if (creator.role !== 'admin') throw rejectTask('only admins may rebuild the analytics counts');
    try {
      const rebuilt = await rebuildRollups(tx, { from: input.from, to: input.to, retentionDays: config.retentionDays });
      logger.info({ jobId, itemKey, ...rebuilt }, 'rollups rebuilt');
      return rebuilt;
    } catch (error) {
      if (error instanceof AppError && error.status < 500) throw rejectTask(`${error.code}: ${error.message}`);
      throw error;
    }
  }, { inputSchema: AggregateInput, allowed: 'admins', prefetch: AGGREGATE_PREFETCH });
}
