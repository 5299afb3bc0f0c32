/**
 * `npm run test:compose`: brings the stack up, waits for health, runs the README's curl journey through
 * the gateway, scales spoke-user to 3 and shows all three serving, then tears everything down.
 *   HUBSPOKE_COMPOSE_RIG=<path to rig>   use the offline compose rig (these machines)
 *   COMPOSE_CMD="docker compose"         otherwise compose v2, else v1 (`docker-compose`), or this command
 * Exits non-zero naming what failed; a service the environment could not start is reported by name.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeCommand, REPO_ROOT } from './support/compose.js';

const rig = process.env.HUBSPOKE_COMPOSE_RIG;
const port = process.env.GATEWAY_PORT ?? '18480';
const gateway = `http://127.0.0.1:${port}`;
const HEALTH_TIMEOUT_MS = Number(process.env.COMPOSE_HEALTH_TIMEOUT_MS ?? 300_000);
// The compose tools run with the machine's own PATH: the rig builds its Node stand-ins from the node and
// npm it finds there, and the project's Node 24 in .tools/ ships without npm.
const machinePath = (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('/.tools/') && !dir.includes('/node_modules/.bin')).join(':');
const env = { ...process.env, PATH: machinePath, GATEWAY_PORT: port, GATEWAY_BIND: '127.0.0.1' };
const summary: string[] = [];
const note = (line: string) => {
  summary.push(line);
  process.stdout.write(`compose-smoke: ${line}\n`);
};

function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${output.slice(-4000)}`);
  return output;
}

function up(extra: string[] = []): string {
  if (rig) return run(rig, ['up', ...(extra.length ? ['--', ...extra] : [])]);
  const [command, ...args] = composeCommand();
  return run(command!, [...args, 'up', '-d', '--build', ...extra]);
}

function down(): void {
  if (rig) run(rig, ['down']);
  else {
    const [command, ...args] = composeCommand();
    run(command!, [...args, 'down', '-v', '--remove-orphans']);
  }
}

function projectName(): string {
  const fromEnv = readFileSync(join(REPO_ROOT, '.env'), 'utf8').match(/^COMPOSE_PROJECT_NAME=(.+)$/m)?.[1];
  return process.env.COMPOSE_PROJECT_NAME ?? fromEnv ?? 'hubspoke';
}

interface Container { service: string; name: string; status: string }
function containers(): Container[] {
  const out = execFileSync('docker', ['ps', '-a', '--filter', `label=com.docker.compose.project=${projectName()}`,
    '--format', '{{.Label "com.docker.compose.service"}}\t{{.Names}}\t{{.Status}}'], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((line) => {
    const [service, name, status] = line.split('\t') as [string, string, string];
    return { service, name, status };
  });
}

async function waitHealthy(expect: Record<string, number>): Promise<number> {
  const started = Date.now();
  for (;;) {
    const all = containers();
    const pending = Object.entries(expect).filter(([service, count]) =>
      all.filter((c) => c.service === service && /\(healthy\)/.test(c.status)).length < count);
    if (pending.length === 0) return Date.now() - started;
    const dead = all.filter((c) => /^Exited|unhealthy/.test(c.status));
    if (Date.now() - started > HEALTH_TIMEOUT_MS || dead.length > 0) {
      for (const c of dead) console.error(`--- logs of ${c.name} (${c.status})\n${spawnSync('docker', ['logs', '--tail', '60', c.name], { encoding: 'utf8' }).stderr}`);
      throw new Error(`not healthy: ${pending.map(([s]) => s).join(', ')}; ${all.map((c) => `${c.name}=${c.status}`).join(', ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

async function call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${gateway}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function expectStatus(step: string, actual: { status: number; body: unknown }, status: number) {
  if (actual.status !== status) throw new Error(`${step}: expected ${status}, got ${actual.status} ${JSON.stringify(actual.body)}`);
  note(`${step}: ${status}`);
}

async function journey(): Promise<string> {
  const email = `smoke-${Date.now()}@example.com`;
  const password = 'a-long-smoke-passphrase';
  const registered = await call('POST', '/api/auth/register', { email, password, name: 'Smoke Test' });
  expectStatus('register', registered, 201);
  const login = await call('POST', '/api/auth/login', { email, password });
  expectStatus('login', login, 200);
  const access = login.body.accessToken as string;
  const me = await call('GET', '/api/users/me', undefined, access);
  expectStatus('me', me, 200);
  expectStatus('update me', await call('PATCH', '/api/users/me', { name: 'Smoke Tested', bio: 'through the gateway' }, access), 200);
  const updated = await call('GET', '/api/users/me', undefined, access);
  if (updated.body.name !== 'Smoke Tested') throw new Error(`update not visible: ${JSON.stringify(updated.body)}`);
  const refreshed = await call('POST', '/api/auth/refresh', { refreshToken: login.body.refreshToken });
  expectStatus('refresh', refreshed, 200);
  expectStatus('logout', await call('POST', '/api/auth/logout', { refreshToken: refreshed.body.refreshToken }), 204);
  expectStatus('refresh after logout', await call('POST', '/api/auth/refresh', { refreshToken: refreshed.body.refreshToken }), 401);
  return access;
}

/** Each spoke-user replica's own request counter for /me, read inside its container. */
function meRequestsPerReplica(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of containers().filter((x) => x.service === 'spoke-user')) {
    const metrics = execFileSync('docker', ['exec', c.name, 'node', '-e',
      "fetch('http://127.0.0.1:'+process.env.PORT+'/metrics').then(r=>r.text()).then(t=>process.stdout.write(t))"], { encoding: 'utf8' });
    const total = [...metrics.matchAll(/^http_requests_total\{[^}]*route="\/me"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    counts.set(c.name, total);
  }
  return counts;
}

async function main() {
  if (!existsSync(join(REPO_ROOT, '.env'))) copyFileSync(join(REPO_ROOT, '.env.example'), join(REPO_ROOT, '.env'));
  const started = Date.now();
  let failed = false;
  try {
    const output = up();
    for (const line of output.split('\n').filter((l) => /dropped service|NO STAND-IN/.test(l))) note(`not started by this environment: ${line.trim()}`);
    const healthyMs = await waitHealthy({ 'hub-gateway': 1, 'hub-orchestrator': 1, 'spoke-auth': 1, 'spoke-user': 1, postgres: 1, redis: 1, rabbitmq: 1 });
    note(`all services healthy ${Math.round((Date.now() - started) / 1000)} s after up started (images built, containers created, then ${Math.round(healthyMs / 1000)} s more)`);
    const access = await journey();

    up(['--scale', 'spoke-user=3']);
    await waitHealthy({ 'spoke-user': 3 });
    const before = meRequestsPerReplica();
    // Replicas register within seconds; then the hub spreads requests over all of them.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    for (let i = 0; i < 60; i++) expectQuiet(await call('GET', '/api/users/me', undefined, access));
    const after = meRequestsPerReplica();
    const served = [...after].map(([name, n]) => `${name}=${n - (before.get(name) ?? 0)}`);
    note(`scaled spoke-user to 3; /me requests served per replica: ${served.join(', ')}`);
    if ([...after].filter(([name, n]) => n - (before.get(name) ?? 0) > 0).length < 3) throw new Error('not every spoke-user replica served traffic');
  } catch (error) {
    failed = true;
    console.error(`compose-smoke: FAILED: ${(error as Error).message}`);
  } finally {
    try {
      down();
      note('torn down');
    } catch (error) {
      failed = true;
      console.error(`compose-smoke: teardown failed: ${(error as Error).message}`);
    }
  }
  process.stdout.write(`\ncompose-smoke summary (${Math.round((Date.now() - started) / 1000)} s):\n  ${summary.join('\n  ')}\n`);
  process.exit(failed ? 1 : 0);
}

function expectQuiet(res: { status: number; body: unknown }) {
  if (res.status !== 200) throw new Error(`GET /api/users/me after scaling: ${res.status} ${JSON.stringify(res.body)}`);
}

void main();
