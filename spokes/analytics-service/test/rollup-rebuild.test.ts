import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '@hubspoke/kit';
import { rebuildRollups } from '../src/domain/rollups.js';
import { startAnalyticsHarness, type AnalyticsHarness } from './support/analytics-harness.js';
import { loggedIn, registered } from './support/events.js';

let h: AnalyticsHarness;
beforeAll(async () => {
  h = await startAnalyticsHarness('analytics_rebuild');
});
afterAll(() => h?.close());

const logger = createLogger({ service: 'analytics', level: 'silent' });
const DAY = 86_400_000;
const snapshot = async () => (await h.db.query(`
  SELECT json_build_object(
    'minutes', (SELECT json_agg(r ORDER BY r.type, r.bucket) FROM (SELECT type, bucket, sum(count)::int AS n FROM counts_minute GROUP BY 1, 2) r),
    'days', (SELECT json_agg(r ORDER BY r.type, r.day) FROM (SELECT type, day, sum(count)::int AS n FROM counts_day GROUP BY 1, 2) r),
    'active', (SELECT json_agg(r ORDER BY r.day) FROM (SELECT day, sum(count)::int AS n FROM active_users_day GROUP BY 1) r)) AS s`)).rows[0].s;

describe('rebuilding the counts', () => {
  test('when the counts of a range are lost or wrong, then a rebuild recounts them from the events, equal to what ingestion kept', async () => {
    const users = [randomUUID(), randomUUID(), randomUUID()];
    const now = Date.now();
    await h.publishAndWait(users.flatMap((u, i) => [registered(u, new Date(now - (i + 1) * DAY)), loggedIn(u, new Date(now - i * DAY)), loggedIn(u, new Date(now - DAY))]));
    const kept = await snapshot();

    await h.db.query('UPDATE counts_day SET count = count + 40');
    await h.db.query('DELETE FROM counts_minute WHERE bucket >= $1', [new Date(now - 2 * DAY)]);
    await h.db.query('DELETE FROM active_users_day');
    const result = await rebuildRollups({ db: h.db, logger, retentionDays: 90, from: new Date(now - 4 * DAY), to: new Date(now), parallel: 3 });

    expect(result).toEqual({ days: 5, events: 9 });
    expect(await snapshot()).toEqual(kept);
  });

  test('when the range starts before the retention, then the rebuild is refused rather than zeroing daily counts it cannot recount', async () => {
    await expect(rebuildRollups({ db: h.db, logger, retentionDays: 30, from: new Date(Date.now() - 40 * DAY), to: new Date() }))
      .rejects.toMatchObject({ code: 'ANALYTICS.RANGE_NOT_RETAINED' });
  });
});
