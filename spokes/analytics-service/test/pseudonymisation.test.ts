import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startAnalyticsHarness, type AnalyticsHarness } from './support/analytics-harness.js';
import { deleted, loggedIn, registered } from './support/events.js';

let h: AnalyticsHarness;
beforeAll(async () => {
  h = await startAnalyticsHarness('analytics_privacy');
});
afterAll(() => h?.close());

/** Every row of every table of the spoke as text: where a user id or an email could hide. */
async function everything(): Promise<string> {
  const tables = ['events', 'counts_minute', 'counts_day', 'active_users', 'active_users_day', 'forgotten_users'];
  const dumps = await Promise.all(tables.map(async (table) => (await h.db.query(`SELECT t::text AS row FROM ${table} t`)).rows.map((r) => r.row).join('\n')));
  return dumps.join('\n');
}

const totals = async () => (await h.db.query(`
  SELECT (SELECT sum(count) FROM counts_day) AS days, (SELECT sum(count) FROM counts_minute) AS minutes, (SELECT sum(count) FROM active_users_day) AS active`)).rows[0];

describe('user.deleted', () => {
  test('when a user is deleted, then no id or personal field of theirs is left, their counts stay, and a later event of theirs arrives pseudonymised', async () => {
    const gone = randomUUID();
    const stays = randomUUID();
    const signup = registered(gone);
    await h.publishAndWait([signup, loggedIn(gone), registered(stays), loggedIn(stays)]);
    const token = await h.token(gone);
    await request(h.app).post('/events').set({ authorization: `Bearer ${token}` }).send({ events: [{ type: 'page_view', properties: { search: 'my address' } }] }).expect(202);
    const before = await totals();

    await h.publishAndWait([deleted(gone)]);
    // The bus has no ordering: a login published before the deletion may well arrive after it.
    await h.publishAndWait([loggedIn(gone)]);

    const dump = await everything();
    expect(dump).not.toContain(gone);
    expect(dump).not.toContain((signup.payload as { email: string }).email);
    expect(dump).not.toContain('my address');
    expect(dump).toContain(stays);
    const after = await totals();
    expect(Number(after.days)).toBe(Number(before.days) + 2);
    expect(after.active).toBe(before.active);
    // Registered, logged in, a page view, deleted, the late login: one pseudonym, no data.
    const { rows } = await h.db.query(`SELECT count(DISTINCT user_id)::int AS users, count(*)::int AS events, bool_and(data = '{}') AS empty FROM events WHERE user_id <> $1`, [stays]);
    expect(rows[0]).toEqual({ users: 1, events: 5, empty: true });
    expect((await request(h.app).get('/users/me/activity').set({ authorization: `Bearer ${token}` })).body.events).toEqual([]);
  });
});
