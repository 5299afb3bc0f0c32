/**
 * `npm run test:compose`: runs the stack for real in each way the README starts it, one after the other,
 * each brought up once and torn down (`down -v`) before the next:
 *   base  the README's curl journey through the gateway, the welcome email and a notification.send job's email
 *         in MailDev, then spoke-user scaled to 3, all three serving;
 *   dev   + docker-compose.dev.yml: sources under node --watch; an edit of a mounted spoke source is served;
 *   prod  + docker-compose.prod.yml: hardened containers with generated secrets (a `changeme-` one is refused).
 *   HUBSPOKE_COMPOSE_RIG=<path to rig>   use the offline compose rig (these machines)
 *   COMPOSE_CMD="docker compose"         otherwise compose v2, else v1 (`docker-compose`), or this command
 *   COMPOSE_SMOKE_VARIANTS=base,dev      run only these variants (default: all three)
 * Exits non-zero naming what failed; a service the environment could not start is reported by name.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveRegistryKey } from '@hubspoke/kit';
import { eventually, freePort } from '@hubspoke/kit/testing';
import { REPO_ROOT } from './support/compose.js';
import { composeStack, type ComposeStack } from './support/compose-stack.js';
import { apiClient } from './support/platform.js';
import { hotReloaded, journey, notificationJobDelivered, scaledOut, welcomeEmailDelivered, type Note } from './support/smoke-checks.js';

const rig = process.env.HUBSPOKE_COMPOSE_RIG;
const port = process.env.GATEWAY_PORT ?? '18480';
const api = apiClient(() => `http://127.0.0.1:${port}`);
const HEALTH_TIMEOUT_MS = Number(process.env.COMPOSE_HEALTH_TIMEOUT_MS ?? 300_000);
const ALL_SERVICES = {
  'hub-gateway': 1, 'hub-orchestrator': 1, 'spoke-auth': 1, 'spoke-user': 1, 'spoke-notification': 1, 'spoke-analytics': 1, postgres: 1, redis: 1, rabbitmq: 1, maildev: 1,
};
// The compose tools run with the machine's own PATH: the rig builds its Node stand-ins from the node and
// npm it finds there, and the project's Node 24 in .tools/ ships without npm.
const machinePath = (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('/.tools/') && !dir.includes('/node_modules/.bin')).join(':');

interface Variant {
  name: string;
  files: string[];
  /** Interpolation variables on top of .env. */
  env: () => Promise<Record<string, string>>;
  check: (stack: ComposeStack, note: Note) => Promise<void>;
}

const VARIANTS: Variant[] = [
  {
    name: 'base',
    files: ['docker-compose.yml'],
    env: async () => ({}),
    check: async (stack, note) => {
      const { token, email } = await journey(api, note);
      await welcomeEmailDelivered(stack, email, note, 30_000);
      await notificationJobDelivered(stack, api, token, email, note, 30_000);
      await scaledOut(stack, api, token, note, HEALTH_TIMEOUT_MS);
    },
  },
  {
    name: 'dev',
    files: ['docker-compose.yml', 'docker-compose.dev.yml'],
    // Free loopback ports for the published data services and UIs, whatever else runs on this machine.
    env: async () => ({
      POSTGRES_DEV_PORT: String(await freePort()), REDIS_DEV_PORT: String(await freePort()),
      RABBITMQ_UI_PORT: String(await freePort()), PROMETHEUS_PORT: String(await freePort()), MAILDEV_UI_PORT: String(await freePort()),
    }),
    check: async (_stack, note) => hotReloaded(api, (await journey(api, note)).token, note),
  },
  {
    name: 'prod',
    files: ['docker-compose.yml', 'docker-compose.prod.yml'],
    env: async () => generatedSecrets(),
    check: async (stack, note) => {
      await journey(api, note);
      const hub = stack.containers().find((c) => c.service === 'hub-orchestrator')!;
      const production = stack.nodeIn(hub.name, 'process.stdout.write(String(process.env.HUBSPOKE_PRODUCTION))');
      if (production !== 'true') throw new Error(`HUBSPOKE_PRODUCTION in the hub is ${production}`);
      note('services run with HUBSPOKE_PRODUCTION=true and generated secrets');
    },
  },
];

/**
 * A fresh value for every secret .env.example leaves as a `changeme-` placeholder, and each spoke's registry
 * key derived from the fresh master key, as `npm run registry:key -- --all` would.
 */
function generatedSecrets(): Record<string, string> {
  const example = readFileSync(join(REPO_ROOT, '.env.example'), 'utf8');
  const secrets = Object.fromEntries([...example.matchAll(/^([A-Z0-9_]+)=changeme-/gm)].map((m) => [m[1]!, randomBytes(24).toString('hex')]));
  const master = secrets.REGISTRY_MASTER_KEY!;
  for (const [, service] of example.matchAll(/^([A-Z0-9_]+)_REGISTRY_KEY=/gm)) {
    secrets[`${service}_REGISTRY_KEY`] = deriveRegistryKey(master, service!.toLowerCase().replaceAll('_', '-'));
  }
  return secrets;
}

async function runVariant(variant: Variant, summary: string[]): Promise<boolean> {
  const note: Note = (line) => {
    summary.push(`${variant.name}: ${line}`);
    process.stdout.write(`compose-smoke ${variant.name}: ${line}\n`);
  };
  const env = { ...process.env, PATH: machinePath, GATEWAY_PORT: port, GATEWAY_BIND: '127.0.0.1', ...(await variant.env()) };
  const stack = composeStack({ files: variant.files, env, rig });
  const started = Date.now();
  let ok = true;
  try {
    const output = stack.up();
    for (const line of output.split('\n').filter((l) => /dropped service|NO STAND-IN/.test(l))) note(`not started by this environment: ${line.trim()}`);
    await stack.waitHealthy(ALL_SERVICES, HEALTH_TIMEOUT_MS);
    note(`all services healthy ${Math.round((Date.now() - started) / 1000)} s after up started`);
    // Healthy inside the network is not yet published on the host: the published port forwards once the gateway
    // container's networking is up, which can trail its healthcheck by a moment.
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0)) === 200, 30_000, 500);
    await variant.check(stack, note);
  } catch (error) {
    ok = false;
    console.error(`compose-smoke ${variant.name}: FAILED: ${(error as Error).message}`);
    stack.printLogs(['hub-gateway', 'hub-orchestrator', 'spoke-auth']);
  } finally {
    try {
      stack.down();
      note(`torn down; ${Math.round((Date.now() - started) / 1000)} s in all`);
    } catch (error) {
      ok = false;
      console.error(`compose-smoke ${variant.name}: teardown failed: ${(error as Error).message}`);
    }
  }
  return ok;
}

async function main() {
  if (!existsSync(join(REPO_ROOT, '.env'))) copyFileSync(join(REPO_ROOT, '.env.example'), join(REPO_ROOT, '.env'));
  const chosen = process.env.COMPOSE_SMOKE_VARIANTS?.split(',').map((s) => s.trim()) ?? VARIANTS.map((v) => v.name);
  const started = Date.now();
  const summary: string[] = [];
  const failed: string[] = [];
  for (const variant of VARIANTS.filter((v) => chosen.includes(v.name))) {
    if (!(await runVariant(variant, summary))) failed.push(variant.name);
  }
  process.stdout.write(`\ncompose-smoke summary (${Math.round((Date.now() - started) / 1000)} s):\n  ${summary.join('\n  ')}\n`);
  if (failed.length > 0) process.stdout.write(`FAILED: ${failed.join(', ')}\n`);
  process.exit(failed.length > 0 ? 1 : 0);
}

void main();
