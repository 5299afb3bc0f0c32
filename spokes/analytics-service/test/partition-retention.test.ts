import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '@hubspoke/kit';
import { loadConfig } from '../src/config.js';
import { maintainPartitions } from '../src/domain/partition-maintenance.js';
import { startAnalyticsHarness, type AnalyticsHarness } from './support/analytics-harness.js';
import { loggedIn } from './support/events.js';

let h: AnalyticsHarness;
beforeAll(async () => {
  h = await startAnalyticsHarness('analytics_retention');
});
afterAll(() => h?.close());

const logger = createLogger({ service: 'analytics', level: 'silent' });
const DAY = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const partitionOf = (ms: number) => `events_p${dayOf(ms).replaceAll('-', '')}`;
const partitions = async () => (await h.db.query<{ name: string }>(
  `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass ORDER BY 1`)).rows.map((r) => r.name);

describe('day partitions', () => {
  test('when the spoke starts, then a partition exists for each day of the retention and a week ahead', async () => {
    const names = await partitions();
    expect(names).toHaveLength(90 + 1 + 7);
    expect(names[0]).toBe(partitionOf(Date.now() - 90 * DAY));
    expect(names.at(-1)).toBe(partitionOf(Date.now() + 7 * DAY));
  });

  test('when the retention shrinks, then older day partitions are dropped with their minute counts, and daily counts stay', async () => {
    const old = Date.now() - 5 * DAY;
    await h.publishAndWait([loggedIn(randomUUID(), new Date(old)), loggedIn(randomUUID(), new Date())]);
    const result = await maintainPartitions({ db: h.db, logger, retentionDays: 1 });

    expect(result.dropped).toContain(partitionOf(old));
    expect(result.dropped).not.toContain(partitionOf(Date.now() - DAY));
    const names = await partitions();
    expect(names[0]).toBe(partitionOf(Date.now() - DAY));
    expect(names).toContain(partitionOf(Date.now()));
    expect((await h.db.query('SELECT 1 FROM events WHERE occurred_at < $1', [new Date(Date.now() - 2 * DAY)])).rowCount).toBe(0);
    expect((await h.db.query('SELECT 1 FROM counts_minute WHERE bucket < $1', [new Date(Date.now() - 2 * DAY)])).rowCount).toBe(0);
    expect((await h.db.query(`SELECT sum(count)::int AS n FROM counts_day WHERE type = 'user.logged_in' AND day = $1`, [dayOf(old)])).rows[0].n).toBe(1);
  });

  test('when the retention is zero or less, then today\'s partition and later ones are still never dropped', async () => {
    const result = await maintainPartitions({ db: h.db, logger, retentionDays: -3 });
    expect(result.dropped).toEqual([partitionOf(Date.now() - DAY)]);
    const names = await partitions();
    expect(names[0]).toBe(partitionOf(Date.now()));
    expect(names).toContain(partitionOf(Date.now() + 7 * DAY));
    expect((await h.db.query('SELECT 1 FROM events WHERE occurred_at >= $1', [new Date(`${dayOf(Date.now())}T00:00:00Z`)])).rowCount).toBeGreaterThan(0);
  });

  test('when the day moves on, then the next partitions are created ahead and those past the retention dropped', async () => {
    const result = await maintainPartitions({ db: h.db, logger, retentionDays: 1, now: new Date(Date.now() + 2 * DAY) });
    expect(result.created).toEqual([partitionOf(Date.now() + 8 * DAY), partitionOf(Date.now() + 9 * DAY)]);
    expect(result.dropped).toEqual([partitionOf(Date.now())]);
  });

  test('when ANALYTICS_RETENTION_DAYS is below 1, then the spoke does not start', () => {
    expect(() => loadConfig({ ANALYTICS_RETENTION_DAYS: '0' })).toThrow(/ANALYTICS_RETENTION_DAYS/);
  });
});
