import { withTransaction, type Logger, type Pool } from '@hubspoke/kit';
import { createPartitionRepository, partitionName } from '../data/partition-repository.js';
import { retentionWindow } from './retention-window.js';
import { addDays, dayString, startOfUtcDay } from './utc-day.js';

// Replicas take turns: two creating the same partition at once would collide.
const MAINTENANCE_LOCK = 'analytics.partition-maintenance';

export interface MaintenanceResult {
  created: string[];
  dropped: string[];
}

/**
 * Keeps one `events` partition per day from the retention's first day to PARTITION_DAYS_AHEAD after
 * today; drops older day partitions, and the minute counts and active-user rows of those days (daily
 * counts stay). Today's partition and later ones are never dropped, whatever the retention.
 */
export async function maintainPartitions({ db, logger, retentionDays, now = new Date() }: {
  db: Pool; logger: Logger; retentionDays: number; now?: Date;
}): Promise<MaintenanceResult> {
  const window = retentionWindow(now, retentionDays);
  const result = await withTransaction(db, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [MAINTENANCE_LOCK]);
    const partitions = createPartitionRepository(tx);
    const existing = await partitions.list();
    const have = new Set(existing.map((p) => p.name));
    const created: string[] = [];
    for (let day = window.from; day < window.to; day = addDays(day, 1)) {
      if (have.has(partitionName(day))) continue;
      await partitions.create(day);
      created.push(partitionName(day));
    }
    // The second condition holds for any valid retention; it is what makes dropping today's partition impossible.
    const expired = existing.filter((p) => p.day < window.from && p.day < startOfUtcDay(now));
    for (const partition of expired) await partitions.drop(partition);
    await tx.query('DELETE FROM counts_minute WHERE bucket < $1', [window.from]);
    await tx.query('DELETE FROM active_users WHERE day < $1::date', [dayString(window.from)]);
    return { created, dropped: expired.map((p) => p.name) };
  });
  if (result.created.length > 0 || result.dropped.length > 0) logger.info(result, 'event partitions maintained');
  return result;
}
