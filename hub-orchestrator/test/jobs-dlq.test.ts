import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { taskRoutingKey, tasksExchange } from '@hubspoke/kit';
import { eventually, publishRaw } from '@hubspoke/kit/testing';
import { WORK_TYPE } from './fixtures/task-spoke.js';
import { jobsClient, jobsWorld, spokeVisible, type Hub, type JobsWorld, type Json, type Spoke } from './support/jobs-world.js';

let world: JobsWorld;
let hub: Hub;
let spoke: Spoke;

beforeAll(async () => {
  world = await jobsWorld({ label: 'jobs_dlq' });
  spoke = await world.startSpoke();
  hub = await world.startHub();
  await spokeVisible(hub);
}, 60_000);
afterAll(async () => world?.cleanup());

describe('dead letters', () => {
  test('when a poison task is dead-lettered while later tasks flow, then admins see it with its error and replay it to its original exchange and routing key', async () => {
    const admin = jobsClient(hub.url, await world.token('admin', 'admin-1'));
    const user = jobsClient(hub.url, await world.token('user', 'user-1'));
    const poison = { id: randomUUID(), type: WORK_TYPE, version: 1, occurredAt: new Date().toISOString(), source: 'hub', correlationId: 'poison-request-1', payload: { not: 'a task' } };
    const deadLettered = spoke.context.bus.waitFor('dead-lettered', (d) => d.envelope?.id === poison.id, 10_000);
    await publishRaw(tasksExchange(world.prefix), taskRoutingKey(WORK_TYPE), Buffer.from(JSON.stringify(poison)), {
      messageId: poison.id, correlationId: poison.correlationId, type: WORK_TYPE,
    });
    await deadLettered;
    const created = await user.create({ type: WORK_TYPE, items: [{ key: 'a', input: {} }, { key: 'b', input: {} }] });
    expect(await user.finished(created.body.id as string)).toMatchObject({ status: 'succeeded', succeeded: 2 });

    const queue = `${world.prefix}.tasker.tasks.${WORK_TYPE}.dlq`;
    // The management API samples depths every few seconds.
    const listed = await eventually(async () => {
      const { body } = await admin.call('GET', '/dlq');
      return (body.queues as Json[]).find((q) => q.name === queue && q.messages === 1);
    }, 20_000, 500);
    expect(listed.newest).toEqual([{
      messageId: poison.id, type: WORK_TYPE, correlationId: 'poison-request-1', error: expect.stringContaining(`not a ${WORK_TYPE} task`), attempts: 1,
      exchange: tasksExchange(world.prefix), routingKey: taskRoutingKey(WORK_TYPE),
    }]);
    expect((await user.call('GET', '/dlq')).status).toBe(403);

    const again = spoke.context.bus.waitFor('dead-lettered', (d) => d.envelope?.id === poison.id, 10_000);
    const replay = await admin.call('POST', `/dlq/${encodeURIComponent(queue)}/replay`, { limit: 10 });
    // `remaining` is the queue's depth right after: 0, or 1 if the poison already came back.
    expect(replay.body).toMatchObject({ queue, replayed: 1, failed: [] });
    // Back through the tasks exchange to the worker's queue, with its correlation id and a fresh attempt count; still poison.
    expect(await again).toMatchObject({ attempts: 1, envelope: expect.objectContaining({ correlationId: 'poison-request-1' }) });
    expect((await admin.call('POST', '/dlq/no-such.dlq/replay', {})).body.error.code).toBe('HUB.DLQ_NOT_FOUND');
  }, 40_000);
});
