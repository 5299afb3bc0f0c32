import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger, createPool, migrate, withTransaction, type Queryable } from '@hubspoke/kit';
import { createTestDatabase } from '@hubspoke/kit/testing';
import { createPartitionRepository } from '../src/data/partition-repository.js';
import { rebuildRollups } from '../src/domain/rollups.js';
import { addDays, dayString, startOfUtcDay } from '../src/domain/utc-day.js';
import { startAnalyticsHarness, type AnalyticsHarness } from './support/analytics-harness.js';
import { deleted, jobCreated, jobFinished, loggedIn, notificationFailed, notificationSent, registered } from './support/events.js';

const DAY = 86_400_000;
type Uuid = ReturnType<typeof randomUUID>;
const MIGRATIONS = fileURLToPath(new URL('../migrations', import.meta.url));

let h: AnalyticsHarness;
beforeAll(async () => {
  h = await startAnalyticsHarness('analytics_privacy');
});
afterAll(() => h?.close());

/** Every row of every table of a database (each day partition, the counts, dedupe records) as text: every column, wherever an id could hide. */
async function everything(db: Queryable = h.db): Promise<string> {
  const { rows: tables } = await db.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`);
  const dumps = await Promise.all(tables.map(async ({ name }) => (await db.query(`SELECT t::text AS row FROM ${name} t`)).rows.map((r) => r.row).join('\n')));
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

describe('user.deleted, for events that name a user without being about them', () => {
  test('when a user who registered, logged in, was sent notifications and created a job is deleted, then no row anywhere holds their id and the day\'s summary is the same, also once recounted', async () => {
    const gone = randomUUID();
    const stays = randomUUID();
    // A day of its own in this file, so its summary is these events' alone.
    const day = new Date(Date.now() - 3 * DAY);
    const date = dayString(day);
    const jobs: Record<string, Uuid> = { [gone]: randomUUID(), [stays]: randomUUID() };
    const lifeOf = (user: Uuid) => [registered(user, day), loggedIn(user, day), notificationSent(user, day), notificationFailed(user, day),
      jobCreated(jobs[user], day, user), jobFinished('partially_failed', jobs[user], day, user)];
    await h.publishAndWait([...lifeOf(gone), ...lifeOf(stays)]);
    const admin = { authorization: `Bearer ${await h.token(randomUUID(), 'admin')}` };
    const summary = async () => (await request(h.app).get('/reports/summary').set(admin).query({ from: date, to: date }).expect(200)).body.days;
    const before = await summary();
    expect(before).toEqual([{
      day: date, signups: 2, logins: 2, activeUsers: 2, notifications: { sent: 2, failed: 2 },
      jobs: { created: 2, succeeded: 0, partially_failed: 2, failed: 0, cancelled: 0 },
    }]);

    await h.publishAndWait([deleted(gone)]);
    expect(await summary()).toEqual(before);
    // The bus has no ordering: events naming them may arrive after the deletion.
    await h.publishAndWait([notificationSent(gone, day), jobFinished('succeeded', jobs[gone], day, gone)]);
    const later = await summary();
    expect(later[0]).toMatchObject({ activeUsers: 2, notifications: { sent: 3, failed: 2 }, jobs: { partially_failed: 2, succeeded: 1 } });
    // A recount (the hub task analytics.aggregate) reads the stored events: their statuses were kept.
    await withTransaction(h.db, (tx) => rebuildRollups(tx, { from: startOfUtcDay(day), to: addDays(startOfUtcDay(day), 1), retentionDays: 90 }));
    expect(await summary()).toEqual(later);

    const dump = await everything();
    expect(dump).not.toContain(gone);
    expect(dump).toContain(stays);
    // One pseudonym for all of it: as the subject of their own events, and where others named them.
    const { rows } = await h.db.query<{ refs: string[]; subjects: string[] }>(
      `SELECT array_agg(DISTINCT ref) AS refs, array_agg(DISTINCT user_id::text) FILTER (WHERE user_id IS NOT NULL) AS subjects
       FROM events, unnest(user_refs) AS ref WHERE occurred_at >= $1 AND occurred_at < $2 AND NOT user_refs @> ARRAY[$3]`,
      [startOfUtcDay(day), addDays(startOfUtcDay(day), 1), stays]);
    expect(rows[0]!.refs).toHaveLength(1);
    expect(rows[0]!.subjects).toEqual(rows[0]!.refs);
    const named = await h.db.query(`SELECT type, data FROM events WHERE user_refs = $1 AND user_id IS NULL ORDER BY type, data->>'status'`, [rows[0]!.refs]);
    expect(named.rows).toEqual([
      { type: 'job.created', data: expect.objectContaining({ creatorId: rows[0]!.refs[0], jobId: jobs[gone] }) },
      { type: 'job.finished', data: expect.objectContaining({ creatorId: rows[0]!.refs[0], status: 'partially_failed' }) },
      { type: 'job.finished', data: expect.objectContaining({ creatorId: rows[0]!.refs[0], status: 'succeeded' }) },
      { type: 'notification.failed', data: expect.objectContaining({ ownerId: rows[0]!.refs[0], template: 'notice' }) },
      { type: 'notification.sent', data: expect.objectContaining({ ownerId: rows[0]!.refs[0] }) },
      { type: 'notification.sent', data: expect.objectContaining({ ownerId: rows[0]!.refs[0] }) },
    ]);
  });

  test('when events were stored and a user forgotten before migration 0003, then the migration replaces the id left in events that named them, and a later deletion finds the older events', async () => {
    const database = await createTestDatabase('analytics_refs_migration');
    const earlier = await mkdtemp(join(tmpdir(), 'analytics-migrations-'));
    const pool = createPool({ connectionString: database.url, applicationName: 'analytics-migration-test' }, createLogger({ service: 'test', level: 'silent' }));
    const gone = randomUUID();
    const stays = randomUUID();
    const pseudonym = randomUUID();
    try {
      for (const file of ['0001_create_events.sql', '0002_count_job_status.sql']) await copyFile(join(MIGRATIONS, file), join(earlier, file));
      await migrate(pool, earlier, createLogger({ service: 'test', level: 'silent' }));
      await createPartitionRepository(pool).create(startOfUtcDay(new Date()));
      // As the earlier code left them: the forgotten user's own events pseudonymised, the events only naming them not.
      await pool.query(`INSERT INTO forgotten_users (user_hash, pseudonym) VALUES (sha256(convert_to($1::uuid::text, 'UTF8')), $2)`, [gone, pseudonym]);
      await pool.query(
        `INSERT INTO events (id, occurred_at, type, version, source, known, user_id, data) VALUES
           (gen_random_uuid(), now(), 'user.logged_in', 1, 'auth', true, $2::uuid, '{}'),
           (gen_random_uuid(), now(), 'notification.sent', 1, 'notification', true, NULL, jsonb_build_object('ownerId', $1::uuid::text, 'template', 'welcome')),
           (gen_random_uuid(), now(), 'job.finished', 1, 'hub', true, NULL, jsonb_build_object('creatorId', $1::uuid::text, 'status', 'failed')),
           (gen_random_uuid(), now(), 'notification.sent', 1, 'notification', true, NULL, jsonb_build_object('ownerId', $3::uuid::text, 'template', 'welcome')),
           (gen_random_uuid(), now(), 'client.owner_viewed', 1, 'client', true, $3::uuid, jsonb_build_object('ownerId', $1::uuid::text))`,
        [gone, pseudonym, stays]);

      const later = await startAnalyticsHarness('analytics_refs_service', { DATABASE_URL: database.url });
      try {
        const { rows } = await pool.query(`SELECT type, user_refs, data FROM events WHERE user_id IS NULL ORDER BY type, data->>'ownerId' = $1`, [pseudonym]);
        expect(rows).toEqual([
          { type: 'job.finished', user_refs: [pseudonym], data: { creatorId: pseudonym, status: 'failed' } },
          { type: 'notification.sent', user_refs: [stays], data: { ownerId: stays, template: 'welcome' } },
          { type: 'notification.sent', user_refs: [pseudonym], data: { ownerId: pseudonym, template: 'welcome' } },
        ]);
        // A client's properties are not a contract's fields: only the subject is a user reference there.
        expect((await pool.query(`SELECT user_refs FROM events WHERE type = 'client.owner_viewed'`)).rows).toEqual([{ user_refs: [stays] }]);

        await later.publishAndWait([deleted(stays)]);
        const dump = await everything(pool);
        expect(dump).not.toContain(stays);
        expect(dump).not.toContain(gone);
      } finally {
        await later.close();
      }
    } finally {
      await pool.end();
      await rm(earlier, { recursive: true, force: true });
      await database.drop();
    }
  });
});
