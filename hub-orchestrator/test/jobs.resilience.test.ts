import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, startPrivateRabbitMq, type PrivateRabbitMq } from '@hubspoke/kit/testing';
import { WORK_TYPE } from './fixtures/task-spoke.js';
import { startHubProcess } from './support/hub-process.js';
import { allItems, hubEnvFor, jobItems, jobsClient, jobsWorld, spokeVisible, type JobsWorld } from './support/jobs-world.js';

let rabbit: PrivateRabbitMq;
let world: JobsWorld;

beforeAll(async () => {
  rabbit = await startPrivateRabbitMq();
  world = await jobsWorld({ label: 'jobs_outage', amqpUrl: rabbit.url });
  await world.startSpoke();
}, 90_000);
afterAll(async () => {
  await world?.cleanup();
  await rabbit?.remove();
}, 60_000);

const items = (count: number) => jobItems(count, () => ({ sleepMs: 20 }));

/** Every item succeeded exactly once at the spoke (nothing duplicated) and the summary counts each once (nothing lost). */
async function expectExactlyOnce(client: ReturnType<typeof jobsClient>, jobId: string, total: number) {
  const job = await client.finished(jobId, 90_000);
  expect(job).toMatchObject({ status: 'succeeded', total, succeeded: total, failed: 0, cancelled: 0, pending: 0, running: 0 });
  const succeeded = await allItems(client, jobId, 'succeeded');
  expect(succeeded).toHaveLength(total);
  const runs = [...world.recorder.successes].filter(([id]) => id.startsWith(`${jobId}/`)).map(([, n]) => n);
  expect(runs).toHaveLength(total);
  const figures = { maxInFlight: world.recorder.maxInFlight.get(jobId), lost: total - runs.length, duplicated: runs.filter((n) => n > 1).length };
  console.warn(`jobs outage figures: ${JSON.stringify(figures)}`);
  expect(figures.duplicated).toBe(0);
  return figures;
}

describe('jobs through outages', () => {
  test('when a hub replica is SIGKILLed mid-job, then another replica carries on from the stored state: nothing lost, nothing counted twice', async () => {
    const survivor = await world.startHub();
    await spokeVisible(survivor);
    const victim = await startHubProcess({
      keyPrefix: `${world.prefix}:`, jwksUrl: 'http://127.0.0.1:9/unused',
      // The same database and broker as the survivor; its own port.
      env: Object.fromEntries(Object.entries(hubEnvFor({ prefix: world.prefix, databaseUrl: world.hubDb.url, amqpUrl: rabbit.url })).filter(([name]) => name !== 'PORT')),
    });
    try {
      const client = jobsClient(survivor.url, await world.token('user', 'user-1'));
      const created = await client.create({ type: WORK_TYPE, items: items(300), maxParallel: 10, itemTimeoutMs: 10_000 });
      const id = created.body.id as string;
      await eventually(async () => ((await client.get(id)).body.succeeded as number) >= 60, 30_000);
      victim.process.child.kill('SIGKILL');
      await victim.process.exited;
      const figures = await expectExactlyOnce(client, id, 300);
      expect(figures.maxInFlight).toBeLessThanOrEqual(10);
    } finally {
      await victim.cleanup();
    }
  }, 120_000);

  test('when RabbitMQ restarts mid-job, then the job finishes with every item counted exactly once', async () => {
    const hub = world.hubs[0] ?? await world.startHub();
    const client = jobsClient(hub.url, await world.token('user', 'user-1'));
    const created = await client.create({ type: WORK_TYPE, items: items(300), maxParallel: 10, itemTimeoutMs: 60_000 });
    const id = created.body.id as string;
    await eventually(async () => ((await client.get(id)).body.succeeded as number) >= 60, 30_000);
    await rabbit.restart();
    await expectExactlyOnce(client, id, 300);
  }, 150_000);
});
