import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEnvelope, eventsExchange } from '@hubspoke/kit';
import { eventually, metricSum, publishRaw } from '@hubspoke/kit/testing';
import { allItems, jobsClient } from '../../hub-orchestrator/test/support/jobs-world.js';
import { WORK_TYPE } from '../../hub-orchestrator/test/fixtures/task-spoke.js';
import { SPOKES } from '../support/platform.js';
import { figure } from './support/figures.js';
import { asClient, PASSWORD, registerUser, startChaosWorld, type ChaosWorld, type TestUser } from './support/world.js';

// The broker lost while accounts are registered (auth outbox → user.registered → user spoke) and while a job runs
// (hub → tasks → the test task spoke → results): nothing acknowledged may be lost; duplicates are counted.
const TASKER = { ...SPOKES.tasker, env: () => ({ TASK_PREFETCH: '10' }) };
const NO_LIMITS = { RATE_LIMIT_IP_MAX: '1000000', RATE_LIMIT_USER_MAX: '1000000', JOBS_DISPATCH_INTERVAL_MS: '50' };
let world: ChaosWorld;
let user: TestUser;

beforeAll(async () => {
  world = await startChaosWorld({ spokes: [SPOKES.auth, SPOKES.user, TASKER], hubEnv: NO_LIMITS });
  user = await registerUser(world, 'chaos-amqp');
});
afterAll(async () => {
  await world?.stop();
});

const services = () => ['hub', 'auth', 'user', 'tasker'].flatMap((name) => world.platform.instances(name));
const duplicates = () => metricSum(services(), 'amqp_deliveries_total', 'outcome="duplicate"');

describe.each([
  { fault: 'stopped', inject: () => world.rabbit.stop() },
  { fault: 'killed -9', inject: () => world.rabbit.kill() },
])('RabbitMQ $fault during registrations and a job', ({ fault, inject }) => {
  test(`when RabbitMQ is ${fault} and comes back, then every registration gets its profile and every job item succeeds once`, async () => {
    const row = figure(`RabbitMQ ${fault} during registrations and a job`, '0 lost (every profile made, every item succeeded), duplicates counted, time to drain reported');
    const jobs = jobsClient(world.platform.instances('hub')[0]!.url, user.token);
    const duplicatesBefore = await duplicates();
    const items = Array.from({ length: 60 }, (_, i) => ({ key: `item-${i}`, input: { sleepMs: 150 } }));
    const created = await jobs.create({ type: WORK_TYPE, items, maxParallel: 4, retry: { limit: 10, backoffMs: 200, maxBackoffMs: 2_000 }, itemTimeoutMs: 5_000 },
      { 'x-request-id': `chaos-amqp-${fault}-job` });
    expect(created.status).toBe(202);
    const jobId = created.body.id as string;
    await eventually(async () => ((await jobs.get(jobId)).body.succeeded as number) >= 8, 20_000, 50);

    const accepted: string[] = [];
    const statuses: Record<string, number> = {};
    let outage = true;
    const registering = (async () => {
      for (let n = 0; outage; n++) {
        const email = `chaos-amqp-${n}-${randomUUID().slice(0, 6)}@example.com`;
        const res = await world.api('POST', '/auth/register', { body: { email, password: PASSWORD, name: 'Chaos' }, headers: asClient({ 'x-request-id': `chaos-amqp-${fault}-register-${n}` }) });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status === 201) accepted.push(email);
        await sleep(50);
      }
    })();
    await sleep(300);
    await inject();
    await sleep(2_000);
    const restarting = Date.now();
    await world.rabbit.restart();
    const back = Date.now();
    outage = false;
    await registering;

    const job = await jobs.finished(jobId, 60_000);
    const jobDrainMs = Date.now() - back;
    await Promise.all(accepted.map(async (email) => {
      const login = await world.api('POST', '/auth/login', { body: { email, password: PASSWORD }, headers: asClient() });
      await eventually(async () => (await world.api('GET', '/users/me', { token: login.body.accessToken as string })).status === 200, 60_000, 250);
    }));
    const profilesDrainMs = Date.now() - back;
    const results = await allItems(jobs, jobId);
    const reruns = results.reduce((sum, item) => sum + Math.max(0, ((item.result as { attempt?: number } | null)?.attempt ?? 1) - 1), 0);
    const dup = (await duplicates()) - duplicatesBefore;
    const measured = `broker back in ${back - restarting} ms; job ${job.status} ${job.succeeded}/${job.total} (drained ${jobDrainMs} ms after), handler re-runs ${reruns}; `
      + `registrations ${JSON.stringify(statuses)}, ${accepted.length} profiles made (drained ${profilesDrainMs} ms after); duplicate deliveries acked ${dup}`;
    const pass = job.status === 'succeeded' && job.succeeded === items.length && (statuses['201'] ?? 0) === accepted.length && Object.keys(statuses).every((s) => s === '201');
    expect(row.measured(measured, pass), JSON.stringify(statuses)).toBe(true);
  }, 120_000);
});

describe('poison and crashing messages', () => {
  const userQueue = () => `queue="${world.platform.prefix}.user.user-registered"`;
  const settled = (outcome: string) => metricSum(world.platform.instances('user'), 'amqp_deliveries_total', userQueue(), `outcome="${outcome}"`);
  const publish = (content: Buffer) => publishRaw(eventsExchange(world.platform.prefix), 'user.registered.v1', content, {}, world.rabbit.url);

  test('when a user.registered message is not an envelope, then it is dead-lettered at once and registrations keep flowing', async () => {
    const row = figure('poison message', 'DLQ at once (no retry), others keep flowing');
    const [deadBefore, retriedBefore] = [await settled('dead_lettered'), await settled('retried')];
    await publish(Buffer.from('{"not": "an envelope"'));
    const flowing = await registerUser(world, 'chaos-after-poison');
    await eventually(async () => (await settled('dead_lettered')) === deadBefore + 1, 10_000, 100);
    const retried = (await settled('retried')) - retriedBefore;
    expect(row.measured(`dead-lettered 1, retried ${retried}; a registration after it got its profile (${flowing.email})`, retried === 0)).toBe(true);
  });

  test('when a user.registered message fails in its handler every time, then it is settled at the configured pace, not in a hot loop, while others flow', async () => {
    // The default schedule retries at +1 s, +10 s, +60 s, +60 s, then dead-letters (maxAttempts 5): about 131 s,
    // past this case's bound. Within 15 s at most the first two retries may happen; a message the kit can tell will
    // never succeed may be dead-lettered at once instead.
    const row = figure('message failing in its handler', '≤ 2 retries in 15 s (no hot loop), retried or dead-lettered, others keep flowing');
    const [retriedBefore, deadBefore] = [await settled('retried'), await settled('dead_lettered')];
    // A payload the contract accepts but Postgres refuses (NUL in text).
    const envelope = createEnvelope({ type: 'user.registered', version: 1, source: 'chaos', payload: { userId: randomUUID(), email: `crash-${randomUUID().slice(0, 6)}@example.com`, name: 'Nul\u0000Byte', role: 'user' } });
    await publish(Buffer.from(JSON.stringify(envelope)));
    const flowing = await registerUser(world, 'chaos-after-crash');
    await sleep(15_000);
    const [retried, dead] = [(await settled('retried')) - retriedBefore, (await settled('dead_lettered')) - deadBefore];
    const measured = `${retried} retries and ${dead} dead-lettered in 15 s; a registration meanwhile got its profile (${flowing.email})`;
    expect(row.measured(measured, retried <= 2 && retried + dead >= 1)).toBe(true);
  }, 40_000);
});
