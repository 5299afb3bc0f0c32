/**
 * Job fan-out: one job of BENCH_ITEMS no-op items (10 000 by default) through a hub process (dist/) and a
 * task spoke process (the test fixture, TypeScript through tsx), against the local Postgres and RabbitMQ,
 * next to the same fan-out in raw amqplib in this process: tasks published with confirms at most
 * BENCH_PARALLEL outstanding, a worker with that prefetch publishing a confirmed result per task, the next
 * task sent as each result arrives. The hub's side also writes each item's state to Postgres; the raw side
 * is the broker's own ceiling. Bounded by a deadline; its databases and queues are removed.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { startJwksServer } from '../hub-orchestrator/test/support/hub-process.js';
import {
  createTestDatabase, createTestKeys, deleteTestTopology, eventually, freePort, metricValue, signTestToken, spawnService, testAmqpUrl, testRabbitMqManagementUrl,
  testPostgresUrl, testRedisUrl, testRegistryKey, uniquePrefix, withPgClient, TEST_AUDIENCE, TEST_ISSUER, TEST_REGISTRY_MASTER_KEY, type ServiceProcess,
} from '../packages/kit/src/testing/index.js';
import { cpuMicros, cpuMicrosOf, pidsNamed, rssBytes } from './support/proc.js';
import { ratio, round, type SuiteResult } from './support/report.js';
import { startCompiled, type BenchProcess } from './support/services.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 10_000);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 200);
/**
 * Jobs run one after another through the hub: V8 sizes its heap to the allocation rate during the first jobs,
 * so memory a job leaves behind shows as growth between the last two. Eight: with four, the last job still grew
 * RSS by 1.5–38 MB on this machine while V8 sized its heap; over eight it levelled off (bench/README.md, round 6).
 */
const ROUNDS = Number(process.env.BENCH_JOB_ROUNDS ?? 8);
const TOTAL = ITEMS * ROUNDS;
const DEADLINE_MS = 300_000;
const SPOKE_MAIN = fileURLToPath(new URL('../hub-orchestrator/test/fixtures/task-spoke-main.ts', import.meta.url));

interface FanOut {
  itemsPerSec: number;
  wallMs: number;
}

export async function run(): Promise<SuiteResult> {
  const prefix = uniquePrefix('benchjobs');
  const spokeDb = await createTestDatabase('bench_jobs_spoke');
  const hubDb = await createTestDatabase('bench_jobs_hub');
  const keys = await createTestKeys();
  const jwks = await startJwksServer(keys);
  let spoke: ServiceProcess | undefined;
  let hub: BenchProcess | undefined;
  try {
    const spokePort = await freePort();
    spoke = spawnService(SPOKE_MAIN, {
      PORT: String(spokePort), PUBLIC_URL: `http://127.0.0.1:${spokePort}`, DATABASE_URL: spokeDb.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix,
      REDIS_URL: testRedisUrl(), REGISTRY_KEY: testRegistryKey('tasker'), REGISTRY_KEY_PREFIX: `${prefix}:`, LOG_LEVEL: 'warn', TASK_PREFETCH: String(PARALLEL),
    });
    hub = await startCompiled('hub', 'hub', 'hub-orchestrator/dist/main.js', {
      REDIS_URL: testRedisUrl(), REGISTRY_MASTER_KEY: TEST_REGISTRY_MASTER_KEY, REGISTRY_KEY_PREFIX: `${prefix}:`, REGISTRY_RESYNC_MS: '200', AUTH_JWKS_URL: jwks.url, AUTH_ISSUER: TEST_ISSUER,
      AUTH_AUDIENCE: TEST_AUDIENCE, DATABASE_URL: hubDb.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, RABBITMQ_MANAGEMENT_URL: testRabbitMqManagementUrl(),
      RATE_LIMIT_KEY_PREFIX: `${prefix}:rl`, LOG_LEVEL: 'info',
    }, async (url) => (await fetch(`${url}/ready`)).status === 200);
    const hubFanOut = await viaHub(hub, spoke, await signTestToken(keys, { sub: 'bench-user', role: 'user', expiresIn: 3600 }), { hub: hubDb.name, spoke: spokeDb.name });
    const raw = await rawFanOut(prefix);
    const share = ratio(hubFanOut.itemsPerSec, raw.itemsPerSec);
    // Flat: once the heap has grown to the load, one more job as big leaves the hub's memory where the previous one left it.
    const [beforeLast, last] = hubFanOut.rssMb.afterEach.slice(-2) as [number, number];
    const rssGrowth = round(last - beforeLast, 1);
    const { rssMb: rss, heapUsedMb: heap, cpu } = hubFanOut;
    process.stdout.write(`  hub ${hubFanOut.itemsPerSec} items/s, raw amqplib ${raw.itemsPerSec} items/s: ${share} of raw; hub RSS ${JSON.stringify(hubFanOut.rssMb)} MB\n`);
    return {
      name: 'jobs',
      markdown: [
        `${ROUNDS} jobs of ${ITEMS} no-op items one after another (a task type served batched), at most ${PARALLEL} in flight (the job's`,
        'maxParallel, the worker\'s prefetch), create to last result; the raw side moves as many items. Flat memory: the growth over the',
        'last job, once V8 has sized its heap to the load (heap used is sampled live, garbage included).',
        '',
        '| fan-out | items/s | ratio | CPU µs/item | commits/item | hub RSS MB (start → after each job; peak) | hub heap used MB (same points) |',
        '|---|---|---|---|---|---|---|',
        `| hub job (Postgres state per item) → task spoke | ${hubFanOut.itemsPerSec} | ${share} of raw | hub ${hubFanOut.cpu.hub} · spoke ${hubFanOut.cpu.spoke} · Postgres ${hubFanOut.cpu.postgres} · RabbitMQ ${hubFanOut.cpu.rabbitmq} | hub ${hubFanOut.commitsPerItem.hub} · spoke ${hubFanOut.commitsPerItem.spoke} | ${[rss.start, ...rss.afterEach].join(' → ')}; ${rss.peak} | ${[heap.start, ...heap.afterEach].join(' → ')} |`,
        `| raw amqplib, confirms + prefetch, one process | ${raw.itemsPerSec} | 1 | both sides ${raw.cpu} · RabbitMQ ${raw.rabbitmqCpu} | | | |`,
      ],
      targets: [
        { what: 'job fan-out, of raw amqplib', value: share, goal: '≥ 0.40', met: share >= 0.4,
          limit: `the 2 cores: per item the fan-out spends hub ${cpu.hub} + spoke ${cpu.spoke} + Postgres ${cpu.postgres} + RabbitMQ ${cpu.rabbitmq} µs `
            + `where the raw side spends ${raw.cpu} + RabbitMQ ${raw.rabbitmqCpu} µs: each item's lease and outcome are Postgres writes on both sides, `
            + 'and its messages are validated envelopes (≈ 0.6 kB, headers, routing checked) where the raw ones are 100 bytes of JSON' },
        { what: 'hub RSS growth over the last job (MB)', value: rssGrowth, goal: 'flat', met: rssGrowth < 10,
          limit: `V8 grows the heap to the load over the first jobs and keeps what it grew (heap used after each job ${heap.afterEach.join(' → ')} MB: `
            + 'nothing kept per item)' },
      ],
      data: { items: ITEMS, parallel: PARALLEL, hub: hubFanOut, raw },
    };
  } finally {
    for (const child of [spoke]) {
      if (!child || child.child.exitCode !== null) continue;
      child.child.kill('SIGTERM');
      await child.exited;
    }
    await hub?.stop();
    await jwks.close();
    await Promise.all([spokeDb.drop(), hubDb.drop()]);
    await deleteTestTopology(prefix, [`${prefix}.tasker.tasks.test.work`, `${prefix}.tasker.tasks.test.admin_only`, `${prefix}.tasker.tasks.test.noop`, `${prefix}.hub.task-results`]);
  }
}

async function viaHub(hub: BenchProcess, spoke: ServiceProcess, token: string, databases: { hub: string; spoke: string }) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${hub.url}/api/hub${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };
  const items = Array.from({ length: ITEMS }, (_, i) => ({ key: `i${i}`, input: {} }));
  // The spoke is routable once its record declares the task type: until then creation is a 400.
  await eventually(async () => (await call('POST', '/jobs', { type: 'test.noop', items: items.slice(0, 1) })).status === 202, 30_000, 200);

  // Two jobs back to back: memory a job leaves behind shows as growth from the first job's end to the second's.
  const heapMb = async () => mb(await metricValue(hub, 'nodejs_heap_size_used_bytes{service="hub"}'));
  const rss = { start: mb(rssBytes(hub.pid)), peak: 0, afterEach: [] as number[] };
  const heap = { start: await heapMb(), afterEach: [] as number[] };
  const sampler = setInterval(() => (rss.peak = Math.max(rss.peak, mb(rssBytes(hub.pid)))), 200);
  // The servers' CPU too: on 2 cores, what Postgres and RabbitMQ spend per item is CPU the hub and spoke do not get.
  const servers = { postgres: pidsNamed('postgres'), rabbitmq: pidsNamed('beam.smp') };
  const cpuBefore = { hub: cpuMicros(hub.pid), spoke: cpuMicros(spoke.child.pid!), postgres: cpuMicrosOf(servers.postgres), rabbitmq: cpuMicrosOf(servers.rabbitmq) };
  const commitsBefore = await commits(databases);
  const started = performance.now();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const created = await call('POST', '/jobs', { type: 'test.noop', items, maxParallel: PARALLEL, itemTimeoutMs: 120_000 });
      if (created.status !== 202) throw new Error(`creating the job failed: ${JSON.stringify(created.body)}`);
      const finished = await eventually(async () => {
        const { body } = await call('GET', `/jobs/${created.body.id as string}`);
        return body.status === 'succeeded' || body.status === 'partially_failed' || body.status === 'failed' ? body : undefined;
      }, DEADLINE_MS, 100);
      if (finished.succeeded !== ITEMS) throw new Error(`the job ended ${finished.status as string} with ${finished.succeeded as number} of ${ITEMS} succeeded`);
      rss.afterEach.push(mb(rssBytes(hub.pid)));
      heap.afterEach.push(await heapMb());
    }
  } finally {
    clearInterval(sampler);
  }
  const wallMs = performance.now() - started;
  rss.peak = Math.max(rss.peak, ...rss.afterEach);
  const commitsAfter = await commits(databases);
  return {
    itemsPerSec: Math.round(TOTAL / (wallMs / 1000)), wallMs: Math.round(wallMs),
    cpu: {
      hub: Math.round((cpuMicros(hub.pid) - cpuBefore.hub) / TOTAL), spoke: Math.round((cpuMicros(spoke.child.pid!) - cpuBefore.spoke) / TOTAL),
      postgres: Math.round((cpuMicrosOf(servers.postgres) - cpuBefore.postgres) / TOTAL), rabbitmq: Math.round((cpuMicrosOf(servers.rabbitmq) - cpuBefore.rabbitmq) / TOTAL),
    },
    rssMb: rss, heapUsedMb: heap,
    commitsPerItem: { hub: round((commitsAfter.hub - commitsBefore.hub) / TOTAL, 2), spoke: round((commitsAfter.spoke - commitsBefore.spoke) / TOTAL, 2) },
  };
}

const mb = (bytes: number) => round(bytes / 1_048_576, 1);

/** Transactions committed so far in each database (the statistics collector's count, flushed within a second). */
async function commits(databases: { hub: string; spoke: string }): Promise<{ hub: number; spoke: number }> {
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  return withPgClient(testPostgresUrl(), async (client) => {
    const { rows } = await client.query<{ datname: string; xact_commit: string }>(
      'SELECT datname, xact_commit FROM pg_stat_database WHERE datname = ANY($1)', [[databases.hub, databases.spoke]]);
    const of = (name: string) => Number(rows.find((row) => row.datname === name)?.xact_commit ?? 0);
    return { hub: of(databases.hub), spoke: of(databases.spoke) };
  });
}

/** The same fan-out with nothing but amqplib: durable queues, persistent messages, confirms, prefetch PARALLEL. */
async function rawFanOut(prefix: string): Promise<FanOut & { cpu: number; rabbitmqCpu: number }> {
  const tasks = `${prefix}.raw.tasks`;
  const results = `${prefix}.raw.results`;
  const dispatcher = await amqp.connect(testAmqpUrl(), { noDelay: true });
  const worker = await amqp.connect(testAmqpUrl(), { noDelay: true });
  try {
    const out = await dispatcher.createConfirmChannel();
    await out.assertQueue(tasks, { durable: true });
    await out.assertQueue(results, { durable: true });
    const work = await worker.createConfirmChannel();
    await work.prefetch(PARALLEL);
    await work.consume(tasks, (message) => {
      if (!message) return;
      const { id } = JSON.parse(message.content.toString()) as { id: string };
      work.sendToQueue(results, Buffer.from(JSON.stringify({ id, status: 'succeeded', output: {} })), { persistent: true, contentType: 'application/json' }, (error) => {
        if (error) work.nack(message);
        else work.ack(message);
      });
    });
    const cpu = process.cpuUsage();
    const rabbitmq = pidsNamed('beam.smp');
    const rabbitmqBefore = cpuMicrosOf(rabbitmq);
    const started = performance.now();
    let sent = 0;
    let received = 0;
    const done = Promise.withResolvers<void>();
    const send = () => {
      const task = { id: randomUUID(), jobId: 'raw', key: `i${sent}`, type: 'test.noop', input: {}, attempt: 1 };
      sent++;
      out.sendToQueue(tasks, Buffer.from(JSON.stringify(task)), { persistent: true, contentType: 'application/json' }, (error) => {
        if (error) done.reject(error);
      });
    };
    await out.prefetch(PARALLEL);
    await out.consume(results, (message) => {
      if (!message) return;
      out.ack(message);
      if (++received === TOTAL) done.resolve();
      else if (sent < TOTAL) send();
    });
    while (sent < Math.min(PARALLEL, TOTAL)) send();
    const deadline = setTimeout(() => done.reject(new Error(`raw fan-out: ${received} of ${TOTAL} results within ${DEADLINE_MS} ms`)), DEADLINE_MS);
    await done.promise.finally(() => clearTimeout(deadline));
    const wallMs = performance.now() - started;
    const used = process.cpuUsage(cpu);
    return {
      itemsPerSec: Math.round(TOTAL / (wallMs / 1000)), wallMs: Math.round(wallMs), cpu: Math.round((used.user + used.system) / TOTAL),
      rabbitmqCpu: Math.round((cpuMicrosOf(rabbitmq) - rabbitmqBefore) / TOTAL),
    };
  } finally {
    const channel = await dispatcher.createChannel();
    await channel.deleteQueue(tasks);
    await channel.deleteQueue(results);
    await dispatcher.close();
    await worker.close();
  }
}
