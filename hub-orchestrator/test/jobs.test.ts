import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { ADMIN_TYPE, NOOP_TYPE, WORK_TYPE } from './fixtures/task-spoke.js';
import { allItems, jobItems, jobsClient, jobsWorld, spokeVisible, type Hub, type JobsWorld } from './support/jobs-world.js';

let world: JobsWorld;
let hub: Hub;
let user: ReturnType<typeof jobsClient>;

beforeAll(async () => {
  world = await jobsWorld({ label: 'jobs' });
  await world.startSpoke();
  hub = await world.startHub();
  await spokeVisible(hub);
  user = jobsClient(hub.url, await world.token('user', 'user-1'));
}, 60_000);
afterAll(async () => world?.cleanup());
beforeEach(() => world.recorder.reset());

const items = (count: number, input?: (i: number) => Record<string, unknown>) => jobItems(count, input, 'item-');

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

describe('a fan-out job', () => {
  test('when 200 items run with maxParallel 10 and some fail transiently or permanently, then the summary is exact, never more than 10 run at the spoke and retries back off', async () => {
    // Every 5th item fails twice then succeeds; every 20th fails permanently; the rest succeed.
    const input = (i: number) => (i % 20 === 0 ? { mode: 'permanent' } : i % 5 === 0 ? { mode: 'transient', times: 2, sleepMs: 2 } : { sleepMs: 5 });
    const created = await user.create({ type: WORK_TYPE, items: items(200, input), maxParallel: 10, retry: { limit: 3, backoffMs: 200, maxBackoffMs: 2_000 } });
    expect(created.status).toBe(202);
    expect(created.headers.get('location')).toBe(`/api/hub/jobs/${created.body.id}`);
    expect(created.body).toMatchObject({ status: 'queued', total: 200 });

    const job = await user.finished(created.body.id as string);

    expect(job).toMatchObject({ status: 'partially_failed', total: 200, pending: 0, running: 0, succeeded: 190, failed: 10, cancelled: 0, retries: 60 });
    expect(job.durationMs).toBeGreaterThan(0);
    expect(world.recorder.maxInFlight.get(job.id as string)).toBeLessThanOrEqual(10);
    expect(world.recorder.maxInFlight.get(job.id as string)).toBeGreaterThan(1);
    const failed = await allItems(user, job.id as string, 'failed');
    expect(failed.map((item) => item.key)).toEqual(items(200).filter((_, i) => i % 20 === 0).map((item) => item.key));
    expect(failed[0]).toMatchObject({ attempts: 1, lastError: 'TaskRejectedError: refused on purpose' });
    const all = await allItems(user, job.id as string);
    expect(all).toHaveLength(200);
    expect(all.find((item) => item.key === 'item-0005')).toMatchObject({ status: 'succeeded', attempts: 3, result: { attempt: 3, creator: 'user-1' } });
    // Full jitter: each retry waits a random time below a ceiling that doubles, so second retries wait longer on average.
    const flaky = [...world.recorder.startsOf(job.id as string).entries()].filter(([key]) => Number(key.slice(5)) % 5 === 0 && Number(key.slice(5)) % 20 !== 0);
    const firstGaps = flaky.map(([, times]) => times[1]! - times[0]!);
    const secondGaps = flaky.map(([, times]) => times[2]! - times[1]!);
    expect(mean(secondGaps)).toBeGreaterThan(mean(firstGaps));
    expect([...world.recorder.successes.values()].every((n) => n === 1)).toBe(true);
    const { rows } = await hub.context.db.query<{ type: string; payload: Record<string, unknown> }>(
      `SELECT type, payload FROM outbox WHERE type LIKE 'job.%' AND payload->>'jobId' = $1 ORDER BY seq`, [job.id]);
    expect(rows).toEqual([
      { type: 'job.created', payload: expect.objectContaining({ total: 200, taskType: WORK_TYPE, creatorId: 'user-1' }) },
      { type: 'job.finished', payload: expect.objectContaining({ status: 'partially_failed', succeeded: 190, failed: 10, retries: 60 }) },
    ]);
  }, 60_000);
});

describe('who may do what', () => {
  test('when another user asks for a job, then it is 404 as if it did not exist; an admin sees it', async () => {
    const created = await user.create({ type: WORK_TYPE, items: items(1) });
    const other = jobsClient(hub.url, await world.token('user', 'user-2'));
    const admin = jobsClient(hub.url, await world.token('admin', 'admin-1'));
    expect((await other.get(created.body.id as string)).body.error.code).toBe('JOB.NOT_FOUND');
    expect((await other.get(created.body.id as string)).status).toBe(404);
    expect((await other.items(created.body.id as string)).status).toBe(404);
    expect((await other.call('DELETE', `/jobs/${created.body.id}`)).status).toBe(404);
    expect((await admin.get(created.body.id as string)).status).toBe(200);
    expect((await other.call('GET', '/jobs')).body.jobs).toEqual([]);
    expect((await user.call('GET', '/jobs')).body.jobs.map((j: { id: string }) => j.id)).toContain(created.body.id);
  });

  test('when a user submits a task type only admins may submit, then 403; an admin may', async () => {
    const refused = await user.create({ type: ADMIN_TYPE, items: items(1) });
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('JOB.TYPE_NOT_ALLOWED');
    const admin = jobsClient(hub.url, await world.token('admin', 'admin-1'));
    const accepted = await admin.create({ type: ADMIN_TYPE, items: items(1) });
    expect(accepted.status).toBe(202);
    expect(await admin.finished(accepted.body.id as string)).toMatchObject({ status: 'succeeded' });
  });

  test('when the request is wrong, then each mistake is a clear 4xx in the error shape', async () => {
    const cases: [unknown, number, string][] = [
      [{ type: 'no.such_type', items: items(1) }, 400, 'JOB.UNKNOWN_TYPE'],
      [{ type: WORK_TYPE, items: [{ key: 'a', input: {} }, { key: 'a', input: {} }] }, 400, 'JOB.DUPLICATE_KEYS'],
      [{ type: WORK_TYPE, items: [{ key: 'a', input: { mode: 'explode' } }] }, 400, 'JOB.INVALID_INPUT'],
      [{ type: WORK_TYPE, items: [{ key: 'a', input: { sleepMs: 1, pad: 'x'.repeat(20_000) } }] }, 413, 'JOB.INPUT_TOO_LARGE'],
      [{ type: WORK_TYPE, items: [] }, 400, 'REQUEST.VALIDATION_FAILED'],
      [{ type: WORK_TYPE, items: items(1), maxParallel: 0 }, 400, 'REQUEST.VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const res = await user.create(body);
      expect({ status: res.status, code: res.body.error?.code }, JSON.stringify(body).slice(0, 80)).toEqual({ status, code });
    }
    expect((await user.create({ type: 'no.such_type', items: items(1) })).body.error.message).toContain('no.such_type');
    expect((await user.get('not-a-uuid')).body.error.code).toBe('JOB.INVALID_ID');
    expect((await user.items('6f1c9a0e-3b7f-4e21-8c6d-9a8b7c6d5e4f', '?cursor=%%%')).status).toBe(404);
  });
});

describe('GET /api/hub/registry', () => {
  test('when an instance serves task types, then the registry view lists them on that instance with who may submit each', async () => {
    const admin = jobsClient(hub.url, await world.token('admin', 'admin-1'));
    const res = await admin.call('GET', '/registry');
    expect(res.status).toBe(200);
    const tasker = (res.body.spokes as { service: string; instances: { instanceId: string; tasks: unknown[] }[] }[]).find((s) => s.service === 'tasker');
    expect(tasker?.instances).toEqual([expect.objectContaining({
      instanceId: world.spokes[0]!.registration!.instanceId,
      tasks: [{ type: WORK_TYPE, allowed: 'users' }, { type: ADMIN_TYPE, allowed: 'admins' }, { type: NOOP_TYPE, allowed: 'users' }],
    })]);
  });
});
