import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { eventually } from '@hubspoke/kit/testing';
import { WORK_TYPE } from './fixtures/task-spoke.js';
import { allItems, jobItems, jobsClient, jobsWorld, spokeVisible, type Hub, type JobsWorld } from './support/jobs-world.js';

let world: JobsWorld;
let hub: Hub;

beforeAll(async () => {
  world = await jobsWorld({ label: 'jobs_limits' });
  await world.startSpoke();
  hub = await world.startHub();
  await spokeVisible(hub);
}, 60_000);
afterAll(async () => world?.cleanup());
beforeEach(() => world.recorder.reset());

const client = async (sub: string, on: Hub = hub) => jobsClient(on.url, await world.token('user', sub));

describe('ratePerSecond', () => {
  test('when a job has ratePerSecond 20, then no second of it starts more than 20 items (plus one pass\'s burst) and its summary is exact', async () => {
    const user = await client('rate-user');
    const created = await user.create({ type: WORK_TYPE, items: jobItems(50), maxParallel: 50, ratePerSecond: 20 });
    const job = await user.finished(created.body.id as string);
    expect(job).toMatchObject({ status: 'succeeded', total: 50, succeeded: 50, failed: 0, retries: 0, pending: 0, running: 0 });

    const starts = [...world.recorder.startsOf(job.id as string).values()].flat().sort((a, b) => a - b);
    expect(starts).toHaveLength(50);
    // One pass may send a tenth of a second's worth (2 here); transit jitter may bunch a few more at the spoke.
    const mostInAnySecond = Math.max(...starts.map((at, i) => starts.slice(i).filter((t) => t < at + 1_000).length));
    expect(mostInAnySecond).toBeLessThanOrEqual(20 + 2 + 2);
    // 50 items at 20/s: the last starts no sooner than (50 − burst) / 20 s after the first.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(((50 - 2) / 20) * 1_000 - 150);
  }, 30_000);
});

describe('fairness', () => {
  test('when a small job starts just after a huge one, then it finishes long before the huge one: it waits behind at most the huge job\'s items in flight', async () => {
    const owner = await client('huge-owner');
    const other = await client('small-owner');
    const huge = await owner.create({ type: WORK_TYPE, items: jobItems(1_500, () => ({ sleepMs: 10 })), maxParallel: 50 });
    await eventually(async () => ((await owner.get(huge.body.id as string)).body.succeeded as number) >= 50, 20_000);

    const small = await other.create({ type: WORK_TYPE, items: jobItems(10, () => ({ sleepMs: 10 })), maxParallel: 10 });
    const smallDone = await other.finished(small.body.id as string);
    const hugeThen = (await owner.get(huge.body.id as string)).body;

    expect(smallDone).toMatchObject({ status: 'succeeded', succeeded: 10 });
    expect(hugeThen.status).toBe('running');
    expect(hugeThen.succeeded as number).toBeLessThan(750);
    console.warn(`jobs fairness: small job done in ${smallDone.durationMs as number} ms while the huge one had ${hugeThen.succeeded as number}/1500 done`);
    await owner.call('DELETE', `/jobs/${huge.body.id as string}`);
    expect(await owner.finished(huge.body.id as string)).toMatchObject({ status: 'cancelled' });
  }, 60_000);
});

describe('quotas and limits', () => {
  test('when a user is over a quota, then 429 with Retry-After in the error shape; a job that could never fit is 413; other users are not affected', async () => {
    const limited = await world.startHub({ JOBS_MAX_ITEMS: '200', JOBS_MAX_OPEN_ITEMS_PER_USER: '100', JOBS_MAX_ACTIVE_PER_USER: '2' });
    const user = await client('quota-user', limited);
    const slow = (count: number) => ({ type: WORK_TYPE, items: jobItems(count, () => ({ sleepMs: 200 })), maxParallel: 1 });

    const first = await user.create(slow(60));
    expect(first.status).toBe(202);
    const overOpenItems = await user.create(slow(50));
    expect(overOpenItems).toMatchObject({ status: 429, body: { error: { code: 'JOB.QUOTA_OPEN_ITEMS', requestId: expect.any(String) } } });
    expect(overOpenItems.body.error.message).toContain('100');
    expect(Number(overOpenItems.headers.get('retry-after'))).toBeGreaterThan(0);
    const second = await user.create(slow(30));
    expect(second.status).toBe(202);
    const overActiveJobs = await user.create(slow(1));
    expect(overActiveJobs).toMatchObject({ status: 429, body: { error: { code: 'JOB.QUOTA_ACTIVE_JOBS' } } });
    expect(Number(overActiveJobs.headers.get('retry-after'))).toBeGreaterThan(0);

    // Waiting cannot help these: 413, naming the limit that applies.
    const neverFits = await user.create(slow(150));
    expect(neverFits).toMatchObject({ status: 413, body: { error: { code: 'JOB.TOO_MANY_ITEMS', details: { max: 100 } } } });
    const tooMany = await (await client('fresh-user', limited)).create(slow(201));
    expect(tooMany).toMatchObject({ status: 413, body: { error: { code: 'JOB.TOO_MANY_ITEMS', details: { max: 100 } } } });
    const tooLargeBody = await user.create({ type: WORK_TYPE, items: jobItems(150, () => ({ sleepMs: 1, pad: 'x'.repeat(8_000) })) });
    expect(tooLargeBody).toMatchObject({ status: 413, body: { error: { code: 'REQUEST.TOO_LARGE' } } });

    expect((await (await client('another-user', limited)).create(slow(1))).status).toBe(202);
    // A cancelled job no longer counts: the user may create again.
    await user.call('DELETE', `/jobs/${first.body.id as string}`);
    await user.finished(first.body.id as string);
    const afterCancel = await user.create(slow(1));
    expect(afterCancel.status).toBe(202);
    for (const id of [second.body.id, afterCancel.body.id] as string[]) await user.call('DELETE', `/jobs/${id}`);
  }, 60_000);
});

describe('lease expiry', () => {
  test('when a task has no result within itemTimeoutMs, then it is retried, and the late result of the first attempt does not count twice', async () => {
    const user = await client('lease-user');
    const input = (i: number) => (i === 0 ? { mode: 'hang', hangMs: 1_500 } : {});
    const created = await user.create({ type: WORK_TYPE, items: jobItems(5, input), itemTimeoutMs: 1_000, retry: { limit: 5, backoffMs: 10, maxBackoffMs: 10 } });
    const job = await user.finished(created.body.id as string);

    const [hung] = await allItems(user, job.id as string);
    expect(hung).toMatchObject({ key: 'k0000', status: 'succeeded', result: { attempt: 1 } });
    expect(hung!.attempts as number).toBeGreaterThanOrEqual(2);
    // Every expired lease is one retry; the four other items never needed one; each item is counted once.
    expect(job).toMatchObject({ status: 'succeeded', total: 5, succeeded: 5, failed: 0, pending: 0, running: 0, retries: (hung!.attempts as number) - 1 });
    // The spoke ran the handler to success once: the retry found the stored result of the first run.
    expect(world.recorder.successes.get(`${job.id as string}/k0000`)).toBe(1);
  }, 30_000);
});
