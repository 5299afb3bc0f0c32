/**
 * Job throughput: one job of BENCH_ITEMS no-op items (10 000 by default) through a hub process and a task
 * spoke process, against the local Postgres and RabbitMQ. Prints items/s, the CPU each process spent per
 * item (utime + stime from /proc/<pid>/stat), and per item the hub's commits and updates of the job row (the
 * row every outcome must change: the figure that caps one job's throughput, whatever the machine's load).
 * Bounded by a deadline; its databases and queues are removed.
 *
 *   npm run bench:jobs            (BENCH_ITEMS=10000 BENCH_PARALLEL=200)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, createPool } from '../packages/kit/src/index.js';
import {
  createTestDatabase, createTestKeys, deleteTestTopology, eventually, freePort, signTestToken, spawnService, testAmqpUrl, testRedisUrl, testRegistryKey,
  uniquePrefix, type ServiceProcess,
} from '../packages/kit/src/testing/index.js';
import { startHubProcess, startJwksServer } from '../hub-orchestrator/test/support/hub-process.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 10_000);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 200);
const DEADLINE_MS = 300_000;
const SPOKE_MAIN = fileURLToPath(new URL('../hub-orchestrator/test/fixtures/task-spoke-main.ts', import.meta.url));
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU time a process has used so far, in µs (fields 14 and 15 of /proc/<pid>/stat, after the command name). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1e6;
}

const prefix = uniquePrefix('benchjobs');
const spokeDb = await createTestDatabase('bench_jobs_spoke');
const keys = await createTestKeys();
const jwks = await startJwksServer(keys);
let spoke: ServiceProcess | undefined;
let hub: Awaited<ReturnType<typeof startHubProcess>> | undefined;
try {
  const spokePort = await freePort();
  spoke = spawnService(SPOKE_MAIN, {
    PORT: String(spokePort), PUBLIC_URL: `http://127.0.0.1:${spokePort}`, DATABASE_URL: spokeDb.url, AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix,
    REDIS_URL: testRedisUrl(), REGISTRY_KEY: testRegistryKey('tasker'), REGISTRY_KEY_PREFIX: `${prefix}:`, LOG_LEVEL: 'warn', TASK_PREFETCH: String(PARALLEL),
  });
  hub = await startHubProcess({ keyPrefix: `${prefix}:`, jwksUrl: jwks.url, env: { REGISTRY_RESYNC_MS: '200', AMQP_PREFIX: prefix } });
  const token = await signTestToken(keys, { sub: 'bench-user', role: 'user' });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${hub!.url}/api/hub${path}`, {
      method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };
  const items = Array.from({ length: ITEMS }, (_, i) => ({ key: `i${i}`, input: {} }));
  // The spoke is routable once its record declares the task type: until then creation is a 400.
  const job = { type: 'test.work', items: items.slice(0, 1) };
  await eventually(async () => (await call('POST', '/jobs', job)).status === 202, 30_000, 200);

  const hubDb = createPool({ connectionString: hub.databaseUrl, applicationName: 'bench-jobs', max: 1 }, createLogger({ service: 'bench', level: 'warn' }));
  // Cumulative statistics reach pg_stat_* within a second of a backend's transactions; the job's share is the difference.
  const hubWrites = async () => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const { rows: [row] } = await hubDb.query<{ commits: string; job_updates: string }>(
      `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()) AS commits,
              (SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'jobs') AS job_updates`);
    return { commits: Number(row!.commits), jobUpdates: Number(row!.job_updates) };
  };
  const writesBefore = await hubWrites();
  const cpuBefore = { hub: cpuMicros(hub.process.child.pid!), spoke: cpuMicros(spoke.child.pid!) };
  const started = performance.now();
  const created = await call('POST', '/jobs', { type: 'test.work', items, maxParallel: PARALLEL, itemTimeoutMs: 120_000 });
  if (created.status !== 202) throw new Error(`creating the job failed: ${JSON.stringify(created.body)}`);
  const finished = await eventually(async () => {
    const { body } = await call('GET', `/jobs/${created.body.id as string}`);
    return body.status === 'succeeded' || body.status === 'partially_failed' || body.status === 'failed' ? body : undefined;
  }, DEADLINE_MS, 100);
  const wallMs = performance.now() - started;
  const cpu = { hub: cpuMicros(hub.process.child.pid!) - cpuBefore.hub, spoke: cpuMicros(spoke.child.pid!) - cpuBefore.spoke };
  const writesAfter = await hubWrites();
  await hubDb.end();
  const perItemOf = (count: number) => (count / ITEMS).toFixed(2);

  const perItem = (micros: number) => Math.round(micros / ITEMS);
  process.stdout.write([
    `jobs: ${ITEMS} no-op items, maxParallel ${PARALLEL}: ${finished.status as string}, succeeded ${finished.succeeded as number}`,
    `  ${Math.round(ITEMS / (wallMs / 1000))} items/s (create to finished, ${Math.round(wallMs)} ms; dispatch to last result ${finished.durationMs as number} ms)`,
    `  CPU per item: hub ${perItem(cpu.hub)} µs, spoke ${perItem(cpu.spoke)} µs (Postgres and RabbitMQ not counted)`,
    `  hub database per item: ${perItemOf(writesAfter.commits - writesBefore.commits)} commits, ${perItemOf(writesAfter.jobUpdates - writesBefore.jobUpdates)} updates of the job row`,
    '',
  ].join('\n'));
} finally {
  for (const child of [hub?.process, spoke]) {
    if (!child || child.child.exitCode !== null) continue;
    child.child.kill('SIGTERM');
    await child.exited;
  }
  await hub?.cleanup();
  await jwks.close();
  await spokeDb.drop();
  await deleteTestTopology(prefix, [`${prefix}.tasker.tasks.test.work`, `${prefix}.tasker.tasks.test.admin_only`]);
}
