import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Options } from 'amqplib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEnvelope, eventsExchange, type Envelope } from '@hubspoke/kit';
import { eventually, metricSum, publishRaw } from '@hubspoke/kit/testing';
import { allItems, jobsClient } from '../../hub-orchestrator/test/support/jobs-world.js';
import { WORK_TYPE } from '../../hub-orchestrator/test/fixtures/task-spoke.js';
import { SPOKES, type Instance } from '../support/platform.js';
import { deadLetterOf, profilesOf, refuseProfiles } from './support/failing-messages.js';
import { signal } from './support/faults.js';
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

// The user spoke as an operator would tune it to see a failing message in the DLQ in under a second instead of ~131 s.
const RETRY_DELAY_MS = 200;
const MAX_ATTEMPTS = 3;
const SHORT_RETRIES = { MESSAGING_RETRY_DELAYS: `${RETRY_DELAY_MS}ms`, MESSAGING_MAX_ATTEMPTS: String(MAX_ATTEMPTS) };
const QUIET_WINDOW_MS = 3_000;
const LATEST_DLQ_MS = 5_000;

describe('poison and crashing messages', () => {
  let consumer: Instance;
  const userQueue = () => `${world.platform.prefix}.user.user-registered`;
  const settled = (outcome: string) => metricSum([consumer], 'amqp_deliveries_total', `queue="${userQueue()}"`, `outcome="${outcome}"`);
  const publish = (content: Buffer, options: Options.Publish = {}) => publishRaw(eventsExchange(world.platform.prefix), 'user.registered.v1', content, options, world.rabbit.url);
  // As the bus publishes an envelope: its id is also the message id, which a dead letter keeps.
  const publishEnvelope = (envelope: Envelope) => publish(Buffer.from(JSON.stringify(envelope)), { messageId: envelope.id });
  const registered = (email: string) => createEnvelope({ type: 'user.registered', version: 1, source: 'chaos', payload: { userId: randomUUID(), email, name: 'Chaos', role: 'user' } });

  beforeAll(async () => {
    // The running instance declared the default schedule's retry queues on this broker; its successor declares
    // `.retry.200ms` beside them (the name spells the delay), so the new schedule starts without an argument conflict.
    const [original] = world.platform.instances('user');
    consumer = await world.platform.startInstance('user', { env: SHORT_RETRIES });
    expect(await signal(original!, 'SIGTERM')).toBe(0);
  }, 60_000);

  test('when a user.registered message is not an envelope, then it is dead-lettered at once and registrations keep flowing', async () => {
    const row = figure('poison message', 'DLQ at once (no retry), others keep flowing');
    const deadBefore = await settled('dead_lettered');
    // Its own message id: the dead letter it becomes says how many deliveries it took (other messages of the queue may
    // be retried in the same window after the broker restarts above, so the queue's counters cannot tell).
    const poisonId = `chaos-poison-${randomUUID()}`;
    await publish(Buffer.from('{"not": "an envelope"'), { messageId: poisonId });
    const flowing = await registerUser(world, 'chaos-after-poison');
    await eventually(async () => (await settled('dead_lettered')) >= deadBefore + 1, 10_000, 100);
    const dlq = await deadLetterOf(world.rabbit.url, `${userQueue()}.dlq`, poisonId);
    expect(row.measured(`dead-lettered after ${dlq?.attempts ?? 'no'} delivery (x-attempts in the DLQ); a registration after it got its profile (${flowing.email})`,
      dlq?.attempts === 1)).toBe(true);
  });

  test('when a user.registered message fails in its handler every time, then it is dead-lettered after exactly the configured attempts, spaced by the delay, while others flow', async () => {
    // Each retry waits its delay in the broker, so the DLQ comes at least (attempts - 1) delays after the publish; the
    // default schedule would take 11 s to reach a third delivery. The gaps between log lines are reported, not bounded:
    // each line follows its move's confirm by a few milliseconds, so a gap may read slightly under the delay.
    const earliestMs = (MAX_ATTEMPTS - 1) * RETRY_DELAY_MS;
    const row = figure('message failing in its handler', `DLQ after exactly ${MAX_ATTEMPTS} deliveries (MESSAGING_MAX_ATTEMPTS=${MAX_ATTEMPTS}, MESSAGING_RETRY_DELAYS=${RETRY_DELAY_MS}ms), `
      + `≥ ${earliestMs} ms and < ${LATEST_DLQ_MS / 1000} s after publishing, 0 deliveries in ${QUIET_WINDOW_MS / 1000} s after (no hot loop), others keep flowing`);
    // The envelope and its payload pass the contract; the user database refuses its profile, so the handler's INSERT
    // fails on every delivery, as it would against a constraint the payload breaks.
    const marked = registered(`chaos-refused-${randomUUID().slice(0, 8)}@example.com`);
    await refuseProfiles(world.platform.databases.user!, marked.payload.email);
    const neighbours = Array.from({ length: 10 }, (_, n) => registered(`chaos-neighbour-${n}-${randomUUID().slice(0, 6)}@example.com`));
    const [retriedBefore, deadBefore] = [await settled('retried'), await settled('dead_lettered')];

    for (const envelope of neighbours.slice(0, 5)) await publishEnvelope(envelope);
    const published = Date.now();
    await publishEnvelope(marked);
    for (const envelope of neighbours.slice(5)) await publishEnvelope(envelope);
    const flowing = await registerUser(world, 'chaos-after-crash');

    const deliveries = () => consumer.process.logs.filter((line) => line.messageId === marked.id
      && (line.msg === 'message handler failed: retrying' || line.msg === 'message dead-lettered'));
    await eventually(() => deliveries().some((line) => line.msg === 'message dead-lettered'), 10_000, 50);
    const loggedAt = (line: Record<string, unknown>) => Date.parse(String(line.time));
    const deadAt = loggedAt(deliveries().at(-1)!);
    await sleep(QUIET_WINDOW_MS);
    const seen = deliveries();
    const times = seen.map(loggedAt);
    const gaps = times.slice(1).map((time, i) => time - times[i]!);
    const after = seen.filter((line) => loggedAt(line) > deadAt).length;
    const [retried, dead] = [(await settled('retried')) - retriedBefore, (await settled('dead_lettered')) - deadBefore];
    const dlq = await deadLetterOf(world.rabbit.url, `${userQueue()}.dlq`, marked.id);
    const profiled = await profilesOf(world.platform.databases.user!, neighbours.map((e) => e.payload.userId));

    const measured = `${seen.length} deliveries (attempts ${seen.map((line) => String(line.attempts)).join(', ')}; x-attempts ${dlq?.attempts ?? 'none'} in the DLQ), `
      + `log lines ${gaps.join(' and ')} ms apart, dead-lettered ${deadAt - published} ms after publishing; ${after} deliveries in the ${QUIET_WINDOW_MS / 1000} s after; `
      + `queue counters retried ${retried}, dead-lettered ${dead}; ${profiled}/${neighbours.length} messages around it profiled, a registration meanwhile got its profile (${flowing.email})`;
    const pass = seen.length === MAX_ATTEMPTS && dlq?.attempts === MAX_ATTEMPTS && after === 0 && deadAt - published >= earliestMs
      && deadAt - published < LATEST_DLQ_MS && retried === MAX_ATTEMPTS - 1 && dead === 1 && profiled === neighbours.length;
    expect(row.measured(measured, pass), dlq?.error).toBe(true);
    expect(dlq?.error).toMatch(/chaos: the user database refuses/);
  }, 40_000);
});
