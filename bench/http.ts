/**
 * GET /api/users/me with a valid token, side by side in one run: a raw node:http server answering the
 * same JSON (the ceiling), the user spoke called directly (it verifies the token itself), hub → spoke,
 * NGINX (the real gateway template) → hub → spoke, and a hub in front of 3 spoke instances. Every
 * process is compiled (dist/) on Node 24, logs each request at `info` (to /dev/null), verifies tokens,
 * and the hub's rate limits are raised out of the way. Variants run in turn, ROUNDS times, so machine
 * noise hits them alike; each ratio is the median of the per-round ratios.
 */
import { randomUUID } from 'node:crypto';
import { startGateway, type Gateway } from '../e2e/support/gateway.js';
import { startJwksServer } from '../hub-orchestrator/test/support/hub-process.js';
import { METRICS_PATH } from '../packages/kit/src/index.js';
import {
  createTestDatabase, createTestKeys, type TestKeys, deleteTestTopology, signTestToken, testAmqpUrl, testRedisUrl, testRegistryKey, uniquePrefix, TEST_AUDIENCE, TEST_ISSUER, TEST_REGISTRY_MASTER_KEY, type TestDatabase,
} from '../packages/kit/src/testing/index.js';
import { CONNECTIONS, MEASURE_SEC, measureLoad, WARMUP_SEC, type LoadSample } from './support/load.js';
import { childPids } from './support/proc.js';
import { median, ratio, round, type SuiteResult, type Target } from './support/report.js';
import { startCompiled, startScript, type BenchProcess } from './support/services.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
// `BENCH_COMPARE_HUBS=before=/tmp/base/hub-orchestrator/dist/main.js,...`: hubs built from other commits
// (`bench/support/build-at.sh`), each measured hub → spoke beside this one, in the same rounds.
const COMPARE_HUBS = namedEntries(process.env.BENCH_COMPARE_HUBS);
// `BENCH_COMPARE_SPOKES=before=/tmp/base/spokes/user-service/dist/main.js`: user spokes built elsewhere, each called directly beside this one.
const COMPARE_SPOKES = namedEntries(process.env.BENCH_COMPARE_SPOKES);
// `BENCH_VARIANTS=hub,hub@before`: only these saturated variants, alternated ROUNDS times, for a side-by-side
// comparison; their medians are printed (CPU per request of each process, and the hub's of the spoke's) and nothing is saved.
const VARIANTS = (process.env.BENCH_VARIANTS ?? '').split(',').filter(Boolean);
const UNLIMITED = '1000000000';

// The ceiling: the least a Node process can do to answer the same bytes.
const RAW_SERVER = `
const body = Buffer.from(process.env.BODY);
require('node:http').createServer((req, res) => {
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface Variant {
  name: string;
  label: string;
  url: string;
  pids: () => Record<string, number>;
  rate?: () => number;
  /** The request's headers when not the user token's (the admin's, for the page of profiles). */
  headers?: Record<string, string>;
}

// The spoke-bound route: an admin's page of PAGE_SIZE profiles (a Postgres read of PAGE_SIZE rows, each profile
// shaped and checked against the response schema, ≈ 40 kB of JSON) costs the spoke many times what it costs the hub.
const PAGE_SIZE = 100;
const PROFILES = 2 * PAGE_SIZE;

export async function run(): Promise<SuiteResult> {
  const prefix = uniquePrefix('benchhttp');
  const keys = await createTestKeys();
  const jwks = await startJwksServer(keys);
  const databases: TestDatabase[] = [];
  const processes: BenchProcess[] = [];
  let gateway: Gateway | undefined;
  try {
    const token = await signTestToken(keys, { sub: randomUUID(), role: 'user', expiresIn: 3600 });
    const headers = { authorization: `Bearer ${token}` };
    const answers = (path: string) => async (url: string) => (await fetch(`${url}${path}`, { headers })).status === 200;
    const database = async (name: string) => {
      const created = await createTestDatabase(name);
      databases.push(created);
      return created.url;
    };
    const started = async (process: Promise<BenchProcess>) => {
      const running = await process;
      processes.push(running);
      return running;
    };
    const shared = {
      REDIS_URL: testRedisUrl(), AMQP_URL: testAmqpUrl(), AMQP_PREFIX: prefix, AUTH_JWKS_URL: jwks.url,
      AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE, LOG_LEVEL: 'info', DRAIN_DELAY_MS: '100ms',
    };
    const userDb = await database('bench_http_user');
    const spoke = (registry: string, entry = 'spokes/user-service/dist/main.js') => started(startCompiled('user spoke', 'spoke', entry, {
      ...shared, REGISTRY_KEY_PREFIX: registry, REGISTRY_KEY: testRegistryKey('user'), DATABASE_URL: userDb,
    }, answers('/ready')));
    const hub = async (registry: string, entry = 'hub-orchestrator/dist/main.js') => started(startCompiled('hub', 'hub', entry, {
      ...shared, REGISTRY_KEY_PREFIX: registry, REGISTRY_MASTER_KEY: TEST_REGISTRY_MASTER_KEY, DATABASE_URL: await database('bench_http_hub'), TRUSTED_PROXY_HOPS: '1',
      RATE_LIMIT_KEY_PREFIX: `${registry}rl`, RATE_LIMIT_IP_MAX: UNLIMITED, RATE_LIMIT_USER_MAX: UNLIMITED,
    }, answers('/api/users/me')));

    // One registry per hub: hub A routes to the one instance also called directly, hub B to three others.
    const one = `${prefix}:one:`;
    const three = `${prefix}:three:`;
    const direct = await spoke(one);
    const trio = [await spoke(three), await spoke(three), await spoke(three)];
    // The processes a request to a hub in front of the 3 instances runs through.
    const behindTrio = (hub: number) => ({ hub, ...Object.fromEntries(trio.map((s, i) => [`spoke${i + 1}`, s.pid])) });
    const [hubA, hubB] = [await hub(one), await hub(three)];
    const compared = [];
    for (const { name, entry } of COMPARE_HUBS) compared.push({ name, hub: await hub(one, entry), hub3: await hub(three, entry) });
    // Registered under a prefix of their own: no hub routes to them.
    const otherSpokes = [];
    for (const { name, entry } of COMPARE_SPOKES) otherSpokes.push({ name, spoke: await spoke(`${prefix}:${name}:`, entry) });
    const body = await (await fetch(`${direct.url}/me`, { headers })).text();
    await seedProfiles(direct.url, keys);
    const adminHeaders = { authorization: `Bearer ${await signTestToken(keys, { sub: randomUUID(), role: 'admin', expiresIn: 3600 })}` };
    const page = `/api/users?limit=${PAGE_SIZE}`;
    const raw = await started(startScript('raw node:http', RAW_SERVER, { BODY: body }, answers('/me')));
    gateway = await startGateway({ hubPorts: [hubA.port] });
    const nginxMaster = gateway.pid;
    const nginxWorker = () => childPids(nginxMaster)[0]!;

    const saturated: Variant[] = [
      { name: 'raw', label: 'raw node:http, same JSON (ceiling)', url: `${raw.url}/me`, pids: () => ({ raw: raw.pid }) },
      { name: 'direct', label: 'user spoke direct GET /me (own token check)', url: `${direct.url}/me`, pids: () => ({ spoke: direct.pid }) },
      ...otherSpokes.map(({ name, spoke: other }) => ({
        name: `direct@${name}`, label: `user spoke built at ${name}, direct`, url: `${other.url}/me`, pids: () => ({ spoke: other.pid }),
      })),
      ...compared.map(({ name, hub: other }) => ({
        name: `hub@${name}`, label: `hub → spoke, hub built at ${name}`, url: `${other.url}/api/users/me`, pids: () => ({ hub: other.pid, spoke: direct.pid }),
      })),
      // Run only when named in BENCH_VARIANTS (a comparison), so a full run's rounds stay as they were.
      ...compared.filter(({ name }) => VARIANTS.includes(`hub3@${name}`)).map(({ name, hub3 }) => ({
        name: `hub3@${name}`, label: `hub → 3 spoke instances, hub built at ${name}`, url: `${hub3.url}/api/users/me`,
        pids: () => behindTrio(hub3.pid),
      })),
      { name: 'hub', label: 'hub → spoke', url: `${hubA.url}/api/users/me`, pids: () => ({ hub: hubA.pid, spoke: direct.pid }) },
      {
        name: 'nginx', label: 'NGINX → hub → spoke', url: `${gateway.url}/api/users/me`,
        pids: () => ({ nginx: nginxWorker(), hub: hubA.pid, spoke: direct.pid }),
      },
      {
        name: 'hub3', label: 'hub → 3 spoke instances', url: `${hubB.url}/api/users/me`,
        pids: () => behindTrio(hubB.pid),
      },
      {
        name: 'page1', label: `hub → 1 spoke instance, a page of ${PAGE_SIZE} profiles (spoke-bound)`, url: `${hubA.url}${page}`, headers: adminHeaders,
        pids: () => ({ hub: hubA.pid, spoke: direct.pid }),
      },
      {
        name: 'page3', label: `hub → 3 spoke instances, the same page`, url: `${hubB.url}${page}`, headers: adminHeaders,
        pids: () => behindTrio(hubB.pid),
      },
    ];
    const samples = new Map<string, LoadSample[]>();
    // Half of the hub path's saturation, the same offered rate for the spoke alone and through the hub
    // (`BENCH_HALF_RATE` sets it for a comparison that does not measure the saturated hub).
    const halfRate = () => Number(process.env.BENCH_HALF_RATE) || Math.round(median(samples.get('hub')!.map((s) => s.rps)) / 2);
    const half: Variant[] = [
      { name: 'direct-half', label: 'spoke direct at half the hub path\'s saturation', url: `${direct.url}/me`, pids: () => ({ spoke: direct.pid }), rate: halfRate },
      { name: 'hub-half', label: 'hub → spoke at the same rate', url: `${hubA.url}/api/users/me`, pids: () => ({ hub: hubA.pid, spoke: direct.pid }), rate: halfRate },
      ...compared.filter(({ name }) => VARIANTS.includes(`hub-half@${name}`)).map(({ name, hub: other }) => ({
        name: `hub-half@${name}`, label: `hub → spoke at the same rate, hub built at ${name}`, url: `${other.url}/api/users/me`,
        pids: () => ({ hub: other.pid, spoke: direct.pid }), rate: halfRate,
      })),
    ];
    const runRounds = async (variants: Variant[]) => {
      for (let r = 1; r <= ROUNDS; r++) {
        for (const variant of variants) {
          const sample = await measureLoad(variant.url, variant.pids(), { headers: variant.headers ?? headers, ...(variant.rate ? { rate: variant.rate() } : {}) });
          samples.set(variant.name, [...samples.get(variant.name) ?? [], sample]);
          process.stdout.write(`  round ${r} ${variant.name}: ${sample.rps} req/s, p50 ${sample.p50Ms} ms, p99 ${sample.p99Ms} ms, failed ${sample.failed}, cores busy ${sample.coresBusy}, CPU µs/req ${JSON.stringify(sample.cpuMicros)}, waited for a core µs/req ${JSON.stringify(sample.waitMicros)}\n`);
        }
      }
    };
    if (VARIANTS.length > 0) {
      const hubs: [string, BenchProcess][] = [['hub', hubA], ['hub3', hubB], ...compared.flatMap(({ name, hub: h, hub3 }): [string, BenchProcess][] => [[`hub@${name}`, h], [`hub3@${name}`, hub3]])];
      const before = await Promise.all(hubs.map(([, h]) => hubHealthCounters(h.url)));
      await runRounds([...saturated, ...half].filter((v) => VARIANTS.includes(v.name)));
      const after = await Promise.all(hubs.map(([, h]) => hubHealthCounters(h.url)));
      const health = hubs.map(([name], i) => `${name}: ${after[i]!.timeouts - before[i]!.timeouts} timeouts, ${after[i]!.breakerTransitions - before[i]!.breakerTransitions} breaker transitions`);
      return comparison(samples, health);
    }
    const hubMetricsBefore = await Promise.all([hubA, hubB].map((h) => hubHealthCounters(h.url)));
    await runRounds(saturated);
    await runRounds(half);
    const hubMetricsAfter = await Promise.all([hubA, hubB].map((h) => hubHealthCounters(h.url)));
    const change = (i: number, key: 'timeouts' | 'breakerTransitions') => hubMetricsAfter[i]![key] - hubMetricsBefore[i]![key];
    const health = {
      oneInstance: { timeouts: change(0, 'timeouts'), breakerTransitions: change(0, 'breakerTransitions') },
      threeInstances: { timeouts: change(1, 'timeouts'), breakerTransitions: change(1, 'breakerTransitions') },
    };
    const batches = await rateLimitBatches(hubA.url);
    return summarize(saturated, samples, health, halfRate(), batches);
  } finally {
    await gateway?.stop();
    for (const running of processes.reverse()) await running.stop();
    await jwks.close();
    await Promise.all(databases.map((db) => db.drop()));
    await deleteTestTopology(prefix, [`${prefix}.hub.task-results`, `${prefix}.user.user-registered`]);
  }
}

/** PROFILES users, each with a name and a bio, made through the spoke's own API (a token's first GET /me makes its profile). */
async function seedProfiles(url: string, keys: TestKeys): Promise<void> {
  for (let i = 0; i < PROFILES; i++) {
    const authorization = `Bearer ${await signTestToken(keys, { sub: randomUUID(), role: 'user', expiresIn: 300 })}`;
    if ((await fetch(`${url}/me`, { headers: { authorization } })).status !== 200) throw new Error('seeding a profile failed');
    const changed = await fetch(`${url}/me`, {
      method: 'PATCH', headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: `Bench User ${i}`, bio: `Profile ${i} of ${PROFILES}, made for the spoke-bound page. `.repeat(3) }),
    });
    if (changed.status !== 200) throw new Error(`seeding a profile failed: ${changed.status} ${await changed.text()}`);
  }
}

function namedEntries(list = ''): { name: string; entry: string }[] {
  return list.split(',').filter(Boolean).map((pair) => {
    const [name = '', entry = ''] = pair.split('=');
    return { name, entry };
  });
}

/** BENCH_VARIANTS: each variant's medians over the rounds, printed as the suite's only result. */
function comparison(samples: Map<string, LoadSample[]>, health: string[]): SuiteResult {
  const lines = [...samples].map(([name, runs]) => {
    const cpu = Object.keys(runs[0]!.cpuMicros).map((p) => `${p} ${Math.round(median(runs.map((r) => r.cpuMicros[p]!)))}`).join(' · ');
    const hubOfSpoke = runs[0]!.cpuMicros.hub === undefined || runs[0]!.cpuMicros.spoke === undefined ? '' : `, hub of spoke ${median(runs.map((r) => ratio(r.cpuMicros.hub!, r.cpuMicros.spoke!)))}`;
    const latency = `p50 ${median(runs.map((r) => r.p50Ms))} ms, p99 ${median(runs.map((r) => r.p99Ms))} ms`;
    return `${name}: ${Math.round(median(runs.map((r) => r.rps)))} req/s, ${latency}, CPU µs/request ${cpu}${hubOfSpoke}`;
  });
  process.stdout.write(`medians over ${ROUNDS} rounds:\n${[...lines, ...health].map((l) => `  ${l}\n`).join('')}`);
  return { name: 'http', markdown: lines, targets: [], data: Object.fromEntries(samples), partial: true };
}

/** Failed attempts that timed out and breaker state changes, summed over spokes, from the hub's own metrics. */
async function hubHealthCounters(url: string): Promise<{ timeouts: number; breakerTransitions: number }> {
  const text = await (await fetch(`${url}${METRICS_PATH}`)).text();
  const sum = (pattern: RegExp) => text.split('\n').filter((line) => pattern.test(line)).reduce((n, line) => n + Number(line.split(' ').at(-1)), 0);
  return { timeouts: sum(/^hub_upstream_errors_total\{.*kind="timeout"/), breakerTransitions: sum(/^hub_breaker_transitions_total\{/) };
}

interface RateLimitCalls {
  /** Script calls the hub's rate limiter made: exact checks and syncs. */
  calls: number;
  /** Checks, counts and synced counters they carried. */
  entries: number;
  /** Requests the hub answered meanwhile. */
  requests: number;
}

/** What the hub's rate limiter asked Redis over the run (a hub without the metric: undefined). */
async function rateLimitBatches(url: string): Promise<RateLimitCalls | undefined> {
  const lines = (await (await fetch(`${url}${METRICS_PATH}`)).text()).split('\n');
  const value = (name: string) => lines.find((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))?.split(' ').at(-1);
  const requests = lines.filter((line) => line.startsWith('http_requests_total{')).reduce((n, line) => n + Number(line.split(' ').at(-1)), 0);
  const [calls, entries] = [value('hub_rate_limit_batch_entries_count'), value('hub_rate_limit_batch_entries_sum')];
  return calls === undefined || entries === undefined ? undefined : { calls: Number(calls), entries: Number(entries), requests };
}

type HubHealth = Record<'oneInstance' | 'threeInstances', { timeouts: number; breakerTransitions: number }>;

function summarize(
  variants: Variant[], samples: Map<string, LoadSample[]>, health: HubHealth, halfRate: number, batches: RateLimitCalls | undefined,
): SuiteResult {
  const troubles = health.oneInstance.timeouts + health.oneInstance.breakerTransitions;
  const of = (name: string) => samples.get(name)!;
  // Per round, the variants' figures side by side; the median over rounds.
  const perRound = (f: (round: number) => number) => round(median(of('raw').map((_, i) => f(i))), 2);
  const rps = (name: string, i: number) => of(name)[i]!.rps;
  const ratios = {
    directOfRaw: perRound((i) => ratio(rps('direct', i), rps('raw', i))),
    hubOfDirect: perRound((i) => ratio(rps('hub', i), rps('direct', i))),
    nginxOfDirect: perRound((i) => ratio(rps('nginx', i), rps('direct', i))),
    threeOfOne: perRound((i) => ratio(rps('hub3', i), rps('hub', i))),
    pageThreeOfOne: perRound((i) => ratio(rps('page3', i), rps('page1', i))),
    // The most 3 instances could serve on 2 cores at the one instance's CPU per request: all of the cores' time over the share it kept busy.
    pageCoresAllow: perRound((i) => ratio(1, of('page1')[i]!.coresBusy)),
    hubCpuOfSpoke: perRound((i) => ratio(of('hub')[i]!.cpuMicros.hub!, of('hub')[i]!.cpuMicros.spoke!)),
    nginxPathHubCpuOfSpoke: perRound((i) => ratio(of('nginx')[i]!.cpuMicros.hub!, of('nginx')[i]!.cpuMicros.spoke!)),
    hubAddsToP99Ms: perRound((i) => of('hub-half')[i]!.p99Ms - of('direct-half')[i]!.p99Ms),
    hubAddsToP50Ms: perRound((i) => of('hub-half')[i]!.p50Ms - of('direct-half')[i]!.p50Ms),
  };
  /** Median CPU µs per request of one process in one variant. */
  const cpuOf = (name: string, process: string) => Math.round(median(of(name).map((x) => x.cpuMicros[process] ?? 0)));
  /** The cores' busy share and the µs per request each process waited on a run queue, medians (the steady-rate rows). */
  const contention = (name: string) => {
    const s = of(name);
    const waited = Object.keys(s[0]!.waitMicros).map((p) => `${p} ${Math.round(median(s.map((x) => x.waitMicros[p]!)))}`).join(' · ');
    return { busy: Math.round(median(s.map((x) => x.coresBusy)) * 100), waited, total: Math.round(median(s.map((x) => Object.values(x.waitMicros).reduce((a, b) => a + b, 0)))) };
  };
  const row = (name: string, label: string, vs: string) => {
    const s = of(name);
    const cpuNames = Object.keys(s[0]!.cpuMicros);
    const cpu = cpuNames.map((p) => `${p} ${Math.round(median(s.map((x) => x.cpuMicros[p]!)))}`).join(' · ');
    return `| ${label} | ${Math.round(median(s.map((x) => x.rps)))} | ${vs} | ${median(s.map((x) => x.p50Ms))} | ${median(s.map((x) => x.p99Ms))} | ${cpu} | ${s.reduce((n, x) => n + x.failed, 0)} |`;
  };
  const markdown = [
    `GET /api/users/me with a valid token (the page rows: an admin's GET /api/users?limit=${PAGE_SIZE}); autocannon, ${CONNECTIONS} connections, `
      + `${WARMUP_SEC} s warm-up + ${MEASURE_SEC} s measured per run, ${ROUNDS} rounds alternating; medians. The half-saturation rows are an open-loop load `
      + 'at a steady rate (bench/support/paced-load.ts), latency counted from when each request was due.',
    '',
    '| path | 2xx req/s | ratio | p50 ms | p99 ms | CPU µs/request by process | failed |',
    '|---|---|---|---|---|---|---|',
    row('raw', variants.find((v) => v.name === 'raw')!.label, '1'),
    row('direct', variants.find((v) => v.name === 'direct')!.label, `${ratios.directOfRaw} of raw`),
    ...variants.filter((v) => v.name.startsWith('direct@')).map((v) => row(v.name, v.label, `${perRound((i) => ratio(rps(v.name, i), rps('raw', i)))} of raw`)),
    ...variants.filter((v) => v.name.startsWith('hub@')).map((v) => row(v.name, v.label, `${perRound((i) => ratio(rps(v.name, i), rps('direct', i)))} of direct`)),
    row('hub', variants.find((v) => v.name === 'hub')!.label, `${ratios.hubOfDirect} of direct`),
    row('nginx', variants.find((v) => v.name === 'nginx')!.label, `${ratios.nginxOfDirect} of direct`),
    row('hub3', variants.find((v) => v.name === 'hub3')!.label, `${ratios.threeOfOne} of 1 instance`),
    row('page1', variants.find((v) => v.name === 'page1')!.label, `cores ${Math.round(median(of('page1').map((x) => x.coresBusy)) * 100)} % busy`),
    row('page3', variants.find((v) => v.name === 'page3')!.label, `${ratios.pageThreeOfOne} of 1 instance`),
    row('direct-half', `spoke direct at ${halfRate} req/s (half the hub path's saturation)`,
      `cores ${contention('direct-half').busy} % busy; waited for a core, µs/request: ${contention('direct-half').waited}`),
    row('hub-half', `hub → spoke at ${halfRate} req/s`, `+${ratios.hubAddsToP50Ms} ms p50, +${ratios.hubAddsToP99Ms} ms p99; `
      + `cores ${contention('hub-half').busy} % busy; waited for a core, µs/request: ${contention('hub-half').waited}`),
    '',
    `Hub → 1 instance over the whole run: ${health.oneInstance.timeouts} upstream timeouts, ${health.oneInstance.breakerTransitions} breaker transitions; `
      + `hub → 3 instances: ${health.threeInstances.timeouts} attempt timeouts (retried on another instance), ${health.threeInstances.breakerTransitions} breaker transitions. `
      + '`bench` is the load generator (autocannon, same cores).'
      + (batches ? ` Rate limiting, hub → 1 instance over the whole run: ${batches.calls} Redis calls for ${batches.requests} requests (`
        + `${round(batches.calls / Math.max(1, batches.requests), 4)} per request), carrying ${batches.entries} checks, counts and synced counters.` : ''),
  ];
  const targets: Target[] = [
    { what: 'NGINX → hub → spoke, of direct', value: ratios.nginxOfDirect, goal: '≥ 0.70', met: ratios.nginxOfDirect >= 0.7,
      limit: `the 2 cores are saturated, so throughput is 2 cores ÷ the CPU all processes spend per request: the chain adds nginx (${cpuOf('nginx', 'nginx')} µs) `
        + `and the hub (${cpuOf('nginx', 'hub')} µs) to the spoke (${cpuOf('nginx', 'spoke')} µs), Postgres and the load generator; 0.70 needs nginx and the hub `
        + 'together under ≈ 0.4× the direct path\'s CPU, about one nginx hop' },
    { what: 'hub CPU per proxied request, of the spoke\'s', value: ratios.hubCpuOfSpoke, goal: '≤ 0.50', met: ratios.hubCpuOfSpoke <= 0.5,
      limit: 'per request the hub does two HTTP exchanges in Node (client, spoke), which alone cost a bare undici proxy 70–100 µs on this machine, '
        + 'where the spoke does one and a Postgres read; of the rest, measured by switching each off side by side (bench/README.md, round 4): '
        + 'Express and its middlewares ≈ 15 µs, the request line ≈ 6 µs; rate limits and revocations are answered from memory (round 6)' },
    // Below -2 ms the hub path was faster than the spoke alone: scheduling noise, not a measurement of the hub.
    { what: 'hub adds to p99 at half saturation (ms)', value: ratios.hubAddsToP99Ms, goal: '≤ 2', met: Math.abs(ratios.hubAddsToP99Ms) <= 2,
      limit: `waiting for a core: a request arriving alone wakes each process on its path alone, so at half its saturation the hub path keeps the cores `
        + `${contention('hub-half').busy} % busy (the spoke alone ${contention('direct-half').busy} %), and its processes waited ${contention('hub-half').total} µs per request `
        + `on a run queue (/proc/<pid>/task/*/schedstat; the spoke alone ${contention('direct-half').total}), whose tail is the p99; the spoke's own p99 at this rate is `
        + `${median(of('direct-half').map((x) => x.p99Ms))} ms; the hub's p99 over the spoke's, round by round: `
        + `${of('raw').map((_, i) => round(of('hub-half')[i]!.p99Ms - of('direct-half')[i]!.p99Ms, 1)).join(', ')} ms` },
    { what: 'hub timeouts + breaker transitions at saturation, 1 healthy instance', value: troubles, goal: '0', met: troubles === 0,
      limit: 'a response later than the deadline on a starved machine' },
    { what: 'user spoke GET /me, of raw node:http', value: ratios.directOfRaw, goal: '≥ 0.25', met: ratios.directOfRaw >= 0.25,
      limit: 'a Postgres read per request (Postgres on the same cores), Express, the request log' },
    { what: `3 spoke instances, of 1, on a spoke-bound route (a page of ${PAGE_SIZE} profiles)`, value: ratios.pageThreeOfOne,
      goal: `≥ 1.8, or what 2 cores allow: ${ratios.pageCoresAllow} (one instance kept them ${Math.round(median(of('page1').map((x) => x.coresBusy)) * 100)} % busy)`,
      met: ratios.pageThreeOfOne >= Math.min(1.8, ratios.pageCoresAllow),
      limit: 'the cores, not the spoke: one instance already keeps both busy with the hub, the load generator and Postgres beside it; three processes each '
        + 'serving a third of the requests wake for fewer requests at a time, so the spokes together spend more CPU per request than one does' },
  ];
  const data = { ratios, health, halfRate, rateLimitBatches: batches, samples: Object.fromEntries(samples) };
  return { name: 'http', markdown, targets, data };
}
