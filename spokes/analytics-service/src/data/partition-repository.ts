import type { Queryable } from '@hubspoke/kit';
import { addDays, dayString } from '../domain/utc-day.js';

/** One day partition of `events`: `events_p20250131` holds [2025-01-31, 2025-02-01) UTC. */
export interface DayPartition {
  name: string;
  day: Date;
}

const NAME = /^events_p(\d{4})(\d{2})(\d{2})$/;

export function partitionName(day: Date): string {
  return `events_p${dayString(day).replaceAll('-', '')}`;
}

export function createPartitionRepository(db: Queryable) {
  return {
    /** The day partitions that exist, oldest first; a table attached under another name is not ours to drop. */
    async list(): Promise<DayPartition[]> {
      const { rows } = await db.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'events'::regclass ORDER BY c.relname`);
      return rows.flatMap(({ name }) => {
        const match = NAME.exec(name);
        return match ? [{ name, day: new Date(`${match[1]}-${match[2]}-${match[3]}T00:00:00Z`) }] : [];
      });
    },

    async create(day: Date): Promise<void> {
      // Bounds with an explicit +00: a bare date would be read in the session's time zone.
      await db.query(`CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF events
        FOR VALUES FROM ('${dayString(day)} 00:00:00+00') TO ('${dayString(addDays(day, 1))} 00:00:00+00')`);
    },

    async drop(partition: DayPartition): Promise<void> {
      await db.query(`DROP TABLE IF EXISTS ${partitionName(partition.day)}`);
    },
  };
}
