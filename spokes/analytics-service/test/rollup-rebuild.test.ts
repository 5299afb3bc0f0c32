import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { withTransaction } from '@hubspoke/kit';
import { rebuildRollups } from '../src/domain/rollups.js';
import { startAnalyticsHarness, type AnalyticsHarness } from './support/analytics-harness.js';
import { countsOf, recountOf } from './support/counts.js';
import { jobFinished, loggedIn, registered } from './support/events.js';

// The recount itself; the hub task that runs it (analytics.aggregate) is tested through the hub in
// e2e/analytics-aggregate.test.ts.
let h: AnalyticsHarness;
beforeAll(async () => {
  h = await startAnalyticsHarness('analytics_rebuild');
});
afterAll(() => h?.close());

const DAY = 86_400_000;
const rebuild = (from: Date, to: Date, retentionDays = 90) => withTransaction(h.db, (tx) => rebuildRollups(tx, { from, to, retentionDays }));
const snapshot = () => countsOf(h.db);
const recount = () => recountOf(h.db);

describe('rebuilding the counts', () => {
  test('when the counts of a range are lost or wrong, then a rebuild recounts them from the events, equal to what ingestion kept and to a full recount', async () => {
    const users = [randomUUID(), randomUUID(), randomUUID()];
    const now = Date.now();
    await h.publishAndWait([
      ...users.flatMap((u, i) => [registered(u, new Date(now - (i + 1) * DAY)), loggedIn(u, new Date(now - i * DAY)), loggedIn(u, new Date(now - DAY))]),
      jobFinished('partially_failed', randomUUID(), new Date(now - 2 * DAY)), jobFinished('succeeded', randomUUID(), new Date(now - 2 * DAY)),
    ]);
    const kept = await snapshot();
    expect(kept).toEqual(await recount());

    await h.db.query('UPDATE counts_day SET count = count + 40');
    await h.db.query(`DELETE FROM counts_day WHERE type = 'job.finished'`);
    await h.db.query('DELETE FROM counts_minute WHERE bucket >= $1', [new Date(now - 2 * DAY)]);
    await h.db.query('DELETE FROM active_users_day');
    const result = await rebuild(new Date(now - 4 * DAY), new Date(now));

    expect(result).toMatchObject({ days: 5, events: 11 });
    expect(await snapshot()).toEqual(kept);
    expect(await rebuild(new Date(now - 4 * DAY), new Date(now))).toEqual(result);
    expect(await snapshot()).toEqual(kept);
  });

  test('when days are rebuilt in parallel while events of those days keep arriving, then every event is counted exactly once', async () => {
    const days = [3, 2, 1].map((n) => new Date(Date.now() - n * DAY));
    const events = Array.from({ length: 600 }, (_, i) => loggedIn(randomUUID(), new Date(days[i % 3]!.getTime() + (i % 50) * 60_000)));
    const arriving = (async () => {
      for (let i = 0; i < events.length; i += 100) await h.publishAndWait(events.slice(i, i + 100));
    })();
    let rebuilds = 0;
    let done = false;
    void arriving.finally(() => { done = true; });
    while (!done || rebuilds === 0) {
      await Promise.all(days.map((day) => rebuild(day, new Date(day.getTime() + 1))));
      rebuilds++;
    }
    await arriving;
    expect(await snapshot()).toEqual(await recount());
  }, 60_000);

  test('when the range is empty, over 366 days or starts before the retention, then the rebuild is refused and nothing changes', async () => {
    const before = await snapshot();
    await expect(rebuild(new Date(), new Date(Date.now() - DAY))).rejects.toMatchObject({ code: 'ANALYTICS.INVALID_RANGE' });
    await expect(rebuild(new Date(Date.now() - 400 * DAY), new Date(), 500)).rejects.toMatchObject({ code: 'ANALYTICS.RANGE_TOO_LARGE' });
    await expect(rebuild(new Date(Date.now() - 40 * DAY), new Date(), 30)).rejects.toMatchObject({ code: 'ANALYTICS.RANGE_NOT_RETAINED' });
    expect(await snapshot()).toEqual(before);
  });
});
