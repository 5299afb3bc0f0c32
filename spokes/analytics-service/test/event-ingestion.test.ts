import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEvent } from '@hubspoke/kit';
import { UserLoggedInV1 } from '@hubspoke/contracts';
import { startAnalyticsHarness, type AnalyticsHarness } from './support/analytics-harness.js';
import { at, loggedIn, registered, uncontracted } from './support/events.js';

let h: AnalyticsHarness;
beforeAll(async () => {
  h = await startAnalyticsHarness('analytics_ingestion');
});
afterAll(() => h?.close());

const count = async (sql: string, params: unknown[] = []) => Number((await h.db.query<{ n: string }>(sql, params)).rows[0]!.n);

describe('ingestion from the bus', () => {
  test('when 10 000 events go through the broker and a batch of them is published again, then each is stored and counted exactly once', async () => {
    const users = Array.from({ length: 200 }, () => randomUUID());
    const start = Date.now() - 3 * 3_600_000;
    // Spread over three hours and two types, as real traffic is; a thousand of them come back a second time.
    const envelopes = Array.from({ length: 10_000 }, (_, i) => {
      const when = new Date(start + (i % 180) * 60_000 + (i % 7) * 1000);
      return i % 5 === 0 ? registered(users[i % users.length], when) : loggedIn(users[i % users.length], when);
    });
    await h.publishAndWait(envelopes, 90_000);
    await h.publishAndWait(envelopes.slice(4_000, 5_000));

    expect(await count('SELECT count(*) AS n FROM events')).toBe(10_000);
    expect(await count('SELECT count(*) AS n FROM processed_messages')).toBe(10_000);
    expect(await count(`SELECT sum(count) AS n FROM counts_minute WHERE type = 'user.logged_in'`)).toBe(8_000);
    expect(await count(`SELECT sum(count) AS n FROM counts_day WHERE type = 'user.registered'`)).toBe(2_000);
  }, 120_000);

  test('when the counts are compared with a full recount of the events, then they are equal', async () => {
    const { rows: drift } = await h.db.query(`
      (SELECT type, bucket, sum(count) FROM counts_minute GROUP BY 1, 2 EXCEPT SELECT type, date_trunc('minute', occurred_at, 'UTC'), count(*) FROM events GROUP BY 1, 2)
      UNION ALL
      (SELECT type, date_trunc('minute', occurred_at, 'UTC'), count(*) FROM events GROUP BY 1, 2 EXCEPT SELECT type, bucket, sum(count) FROM counts_minute GROUP BY 1, 2)`);
    expect(drift).toEqual([]);
    const { rows: dayDrift } = await h.db.query(`
      (SELECT type, day, sum(count) FROM counts_day GROUP BY 1, 2 EXCEPT SELECT type, (occurred_at AT TIME ZONE 'UTC')::date, count(*) FROM events GROUP BY 1, 2)
      UNION ALL
      (SELECT type, (occurred_at AT TIME ZONE 'UTC')::date, count(*) FROM events GROUP BY 1, 2 EXCEPT SELECT type, day, sum(count) FROM counts_day GROUP BY 1, 2)`);
    expect(dayDrift).toEqual([]);
    const { rows: activeDrift } = await h.db.query(`
      SELECT a.day, a.count, r.count AS recount FROM (SELECT day, sum(count) AS count FROM active_users_day GROUP BY 1) a
      FULL JOIN (SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day, count(DISTINCT user_id) AS count FROM events
                 WHERE user_id IS NOT NULL AND type <> 'user.deleted' GROUP BY 1) r ON r.day = a.day
      WHERE a.count IS DISTINCT FROM r.count OR a.day IS NULL`);
    expect(activeDrift).toEqual([]);
  });

  test('when an event arrives three days late, then it lands in its own minute and day, not in today\'s', async () => {
    const type = UserLoggedInV1.type;
    const when = new Date(Date.now() - 3 * 86_400_000);
    when.setUTCHours(10, 17, 42, 0);
    const day = when.toISOString().slice(0, 10);
    const before = await count('SELECT coalesce(sum(count), 0) AS n FROM counts_day WHERE type = $1 AND day = $2', [type, day]);
    await h.publishAndWait([at(createEvent(UserLoggedInV1, 'auth', { userId: randomUUID() }), when)]);
    expect(await count('SELECT sum(count) AS n FROM counts_minute WHERE type = $1 AND bucket = $2', [type, new Date(`${day}T10:17:00Z`)])).toBe(1);
    expect(await count('SELECT sum(count) AS n FROM counts_day WHERE type = $1 AND day = $2', [type, day])).toBe(before + 1);
  });

  test('when an event has no contract, then it is stored and counted by type as unknown, with no payload kept', async () => {
    const event = uncontracted('legacy.thing_happened', { userId: randomUUID(), email: 'someone@example.com' });
    await h.publishAndWait([event]);
    const { rows } = await h.db.query('SELECT known, user_id, data, source FROM events WHERE id = $1', [event.id]);
    expect(rows).toEqual([{ known: false, user_id: null, data: {}, source: 'elsewhere' }]);
    expect(await count(`SELECT sum(count) AS n FROM counts_day WHERE type = 'legacy.thing_happened'`)).toBe(1);
  });

  test('when a payload breaks its contract, then it is dead-lettered at once and nothing is stored', async () => {
    const bad = { ...loggedIn(), payload: { userId: 'not-a-uuid' } };
    const dead = h.bus.waitFor('dead-lettered', (d) => d.envelope?.id === bad.id);
    await h.publishAndWait([bad]);
    expect((await dead).attempts).toBe(1);
    expect(await count('SELECT count(*) AS n FROM events WHERE id = $1', [bad.id])).toBe(0);
  });

  test('when an event is older than the retention, then it is neither stored nor counted; one past the partitions ahead is dead-lettered', async () => {
    const old = loggedIn(randomUUID(), new Date(Date.now() - 400 * 86_400_000));
    const ahead = loggedIn(randomUUID(), new Date(Date.now() + 30 * 86_400_000));
    const dead = h.bus.waitFor('dead-lettered', (d) => d.envelope?.id === ahead.id);
    await h.publishAndWait([old, ahead]);
    await dead;
    expect(await count('SELECT count(*) AS n FROM events WHERE id = ANY($1::uuid[])', [[old.id, ahead.id]])).toBe(0);
  });
});
