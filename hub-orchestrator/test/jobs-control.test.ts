import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { METRICS_PATH } from '@hubspoke/kit';
import { eventually } from '@hubspoke/kit/testing';
import { WORK_TYPE } from './fixtures/task-spoke.js';
import { allItems, jobItems, jobsClient, jobsWorld, spokeVisible, type Hub, type JobsWorld, type Json } from './support/jobs-world.js';

let world: JobsWorld;
let hub: Hub;
let user: ReturnType<typeof jobsClient>;
let token: string;

beforeAll(async () => {
  world = await jobsWorld({ label: 'jobs_control' });
  await world.startSpoke();
  hub = await world.startHub();
  await spokeVisible(hub);
  token = await world.token('user', 'user-1');
  user = jobsClient(hub.url, token);
}, 60_000);
afterAll(async () => world?.cleanup());
beforeEach(() => world.recorder.reset());

/** Reads server-sent events until `stopAfter` says so or the stream ends. */
async function readEvents(jobId: string, { lastEventId, stopAfter }: { lastEventId?: string; stopAfter: (events: Json[]) => boolean }) {
  const controller = new AbortController();
  const res = await fetch(`${hub.url}/api/hub/jobs/${jobId}/events`, {
    headers: { authorization: `Bearer ${token}`, ...(lastEventId && { 'last-event-id': lastEventId }) }, signal: controller.signal,
  });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const events: Json[] = [];
  const decoder = new TextDecoder();
  let buffered = '';
  const reader = res.body!.getReader();
  try {
    while (!stopAfter(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      const blocks = buffered.split('\n\n');
      buffered = blocks.pop()!;
      for (const block of blocks) {
        const fields = Object.fromEntries(block.split('\n').filter((l) => !l.startsWith(':') && l.includes(': ')).map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
        if (fields.data) events.push({ ...JSON.parse(fields.data as string) as Json, eventId: fields.id, event: fields.event });
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

describe('controlling a job', () => {
  test('when a job is cancelled, then what had not started is cancelled, what ran is counted, and nothing starts afterwards', async () => {
    const created = await user.create({ type: WORK_TYPE, items: jobItems(30, () => ({ sleepMs: 150 })), maxParallel: 2 });
    const id = created.body.id as string;
    await eventually(async () => ((await user.get(id)).body.succeeded as number) >= 2);
    const cancelled = await user.call('DELETE', `/jobs/${id}`);
    expect(cancelled.status).toBe(200);
    // What was already dispatched at the cancel may still start; nothing else does.
    expect(cancelled.body.running as number).toBeLessThanOrEqual(2);
    const job = await user.finished(id);
    expect(job).toMatchObject({ status: 'cancelled', pending: 0, running: 0, failed: 0 });
    expect((job.succeeded as number) + (job.cancelled as number)).toBe(30);
    const started = world.recorder.startsOf(id);
    expect([...started.values()].flat()).toHaveLength(job.succeeded as number);
    expect((await allItems(user, id, 'cancelled')).filter((item) => started.has(item.key as string))).toEqual([]);
    expect((await user.call('DELETE', `/jobs/${id}`)).body.error.code).toBe('JOB.NOT_ACTIVE');
  });

  test('when failed items are retried, then only they run again and every other result is kept', async () => {
    const created = await user.create({ type: WORK_TYPE, items: jobItems(10, (i) => (i < 3 ? { mode: 'permanent' } : {})) });
    const id = created.body.id as string;
    expect(await user.finished(id)).toMatchObject({ status: 'partially_failed', succeeded: 7, failed: 3 });
    const before = await allItems(user, id, 'succeeded');
    world.recorder.rejecting = false;
    const retried = await user.call('POST', `/jobs/${id}/retry-failed`);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ status: 'running', failed: 0, pending: 3 });
    expect(await user.finished(id)).toMatchObject({ status: 'succeeded', succeeded: 10, failed: 0 });
    const after = await allItems(user, id, 'succeeded');
    expect(after.filter((item) => before.some((b) => b.key === item.key))).toEqual(before);
    expect(after.filter((item) => ['k0000', 'k0001', 'k0002'].includes(item.key as string)).map((item) => item.attempts)).toEqual([2, 2, 2]);
    expect((await user.call('POST', `/jobs/${id}/retry-failed`)).body.error.code).toBe('JOB.NOTHING_TO_RETRY');
  });

  test('when a job is created twice with one Idempotency-Key, then the same job comes back; another body with that key is 409', async () => {
    const body = { type: WORK_TYPE, items: jobItems(3), maxParallel: 3 };
    const first = await user.create(body, { 'idempotency-key': 'order-42' });
    const again = await user.create({ maxParallel: 3, items: jobItems(3), type: WORK_TYPE }, { 'idempotency-key': 'order-42' });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    const different = await user.create({ ...body, maxParallel: 2 }, { 'idempotency-key': 'order-42' });
    expect(different.status).toBe(409);
    expect(different.body.error.code).toBe('JOB.IDEMPOTENCY_CONFLICT');
    const otherUser = jobsClient(hub.url, await world.token('user', 'user-3'));
    expect((await otherUser.create(body, { 'idempotency-key': 'order-42' })).body.id).not.toBe(first.body.id);
  });

  test('when a handler answers throttled, then the job\'s dispatch pauses for that long and the attempt counts as a retry, not a failure', async () => {
    const created = await user.create({ type: WORK_TYPE, items: jobItems(6, (i) => (i === 0 ? { mode: 'throttle', retryAfterMs: 1_000 } : { sleepMs: 100 })), maxParallel: 1 });
    const job = await user.finished(created.body.id as string);
    expect(job).toMatchObject({ status: 'succeeded', succeeded: 6, failed: 0, retries: 1 });
    const starts = world.recorder.startsOf(job.id as string);
    const throttledAt = starts.get('k0000')![0]!;
    const later = [...starts.entries()].flatMap(([key, times]) => (key === 'k0000' ? times.slice(1) : times));
    // Nothing of this job started within the pause (a little slack for the answer's trip back to the hub).
    expect(later.every((at) => at >= throttledAt + 900)).toBe(true);
  });

  test('when a client reconnects to the event stream with Last-Event-ID, then it misses nothing: the counts since, then the summary', async () => {
    const created = await user.create({ type: WORK_TYPE, items: jobItems(20, () => ({ sleepMs: 50 })), maxParallel: 2 });
    const id = created.body.id as string;
    const first = await readEvents(id, { stopAfter: (events) => events.length >= 2 });
    expect(first.every((e) => e.event === 'progress')).toBe(true);
    const rest = await readEvents(id, { lastEventId: first.at(-1)!.eventId as string, stopAfter: (events) => events.at(-1)?.event === 'summary' });
    const ids = [...first, ...rest].map((e) => Number(e.eventId));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(rest.at(-1)).toMatchObject({ event: 'summary', status: 'succeeded', succeeded: 20, total: 20 });
    const finishedAgain = await readEvents(id, { lastEventId: rest.at(-1)!.eventId as string, stopAfter: () => false });
    expect(finishedAgain).toEqual([expect.objectContaining({ event: 'summary' })]);
  });

  test('when a reconnecting client missed several changes, then the first event holds them all: counts that only grow, ending with the summary', async () => {
    const created = await user.create({ type: WORK_TYPE, items: jobItems(30, () => ({ sleepMs: 40 })), maxParallel: 2 });
    const id = created.body.id as string;
    const [seen] = await readEvents(id, { stopAfter: (events) => events.length >= 1 });
    await eventually(async () => ((await user.get(id)).body.succeeded as number) >= (seen!.succeeded as number) + 5);
    const rest = await readEvents(id, { lastEventId: seen!.eventId as string, stopAfter: (events) => events.at(-1)?.event === 'summary' });
    expect(Number(rest[0]!.eventId)).toBeGreaterThan(Number(seen!.eventId));
    expect(rest[0]!.succeeded as number).toBeGreaterThanOrEqual((seen!.succeeded as number) + 5);
    const succeeded = [seen!, ...rest].map((e) => e.succeeded as number);
    expect(succeeded).toEqual([...succeeded].sort((a, b) => a - b));
    expect(rest.at(-1)).toMatchObject({ event: 'summary', succeeded: 30 });
  });

  test('when Last-Event-ID is not one this job sent (ahead of it), then the stream starts from the current counts instead of waiting', async () => {
    const created = await user.create({ type: WORK_TYPE, items: jobItems(3, () => ({ sleepMs: 300 })), maxParallel: 1 });
    const id = created.body.id as string;
    const events = await readEvents(id, { lastEventId: '999999', stopAfter: (received) => received.length >= 1 });
    expect(events[0]).toMatchObject({ id, total: 3 });
    expect(Number(events[0]!.eventId)).toBeLessThan(999_999);
    expect(await user.finished(id)).toMatchObject({ status: 'succeeded' });
  });
});

describe('two hub replicas', () => {
  test('when two replicas share one job, then both dispatch it and the limit still holds at the spoke', async () => {
    const second = await world.startHub();
    const created = await user.create({ type: WORK_TYPE, items: jobItems(80, () => ({ sleepMs: 20 })), maxParallel: 4 });
    const job = await user.finished(created.body.id as string);
    expect(job).toMatchObject({ status: 'succeeded', succeeded: 80 });
    expect(world.recorder.maxInFlight.get(job.id as string)).toBeLessThanOrEqual(4);
    const dispatched = async (h: Hub) => Number(/hub_job_items_dispatched_total\{[^}]*type="test.work"[^}]*\} (\d+)/.exec(await (await fetch(`${h.url}${METRICS_PATH}`)).text())?.[1] ?? 0);
    expect(await dispatched(second)).toBeGreaterThan(0);
    expect(await dispatched(hub)).toBeGreaterThan(0);
  });
});
