import {
  createLogger, createStaticKeySource, createTokenVerifier, startService, type LogLevel, type RunningService, type TokenVerifier,
} from '@hubspoke/kit';
import {
  createTestDatabase, createTestKeys, deleteTestTopology, eventually, signTestToken, testAmqpUrl, testRabbitMqManagementUrl, testRedisUrl,
  uniquePrefix, TEST_AUDIENCE, TEST_ISSUER, type TestDatabase, type TestKeys, testRegistryKey, TEST_REGISTRY_MASTER_KEY
} from '@hubspoke/kit/testing';
import { loadConfig, type HubConfig } from '../../src/config.js';
import { hubService, type HubDomain } from '../../src/service.js';
import { createRecorder, loadTaskSpokeConfig, taskSpoke, type Recorder, type TaskSpokeConfig } from '../fixtures/task-spoke.js';

export type Hub = RunningService<HubConfig, HubDomain>;
export type Spoke = RunningService<TaskSpokeConfig, undefined>;

export interface JobsWorldOptions {
  label: string;
  amqpUrl?: string;
  logLevel?: LogLevel;
  hubEnv?: Record<string, string>;
}

/**
 * One test file's jobs platform: the hub's database, a task spoke with its own database, a prefix for every
 * queue and registry key, hubs started on demand (in-process, as `startService` runs them), tokens, cleanup.
 */
export async function jobsWorld({ label, amqpUrl = testAmqpUrl(), logLevel = 'silent', hubEnv = {} }: JobsWorldOptions) {
  const prefix = uniquePrefix(label);
  const hubDb = await createTestDatabase(`${label}_hub`);
  const spokeDb = await createTestDatabase(`${label}_spoke`);
  const keys = await createTestKeys();
  const verifier = createTokenVerifier({ keys: createStaticKeySource(keys.jwks), issuer: TEST_ISSUER, audience: TEST_AUDIENCE });
  const recorder = createRecorder();
  const hubs: Hub[] = [];
  const spokes: Spoke[] = [];

  const env = hubEnvFor({ prefix, databaseUrl: hubDb.url, amqpUrl, extra: hubEnv });
  const startHub = async (extra: Record<string, string> = {}): Promise<Hub> => {
    const hub = await startJobsHub({ ...env, ...extra }, { verifier, logLevel });
    hubs.push(hub);
    return hub;
  };
  const startSpoke = async (options: { prefetch?: number } = {}): Promise<Spoke> => {
    const config = loadTaskSpokeConfig({
      DATABASE_URL: spokeDb.url, AMQP_URL: amqpUrl, AMQP_PREFIX: prefix, REDIS_URL: testRedisUrl(), REGISTRY_KEY_PREFIX: `${prefix}:`,
      REGISTRY_KEY: testRegistryKey('tasker'), DRAIN_DELAY_MS: '0',
    });
    const spoke = await startService(taskSpoke(config, recorder, options), {
      port: 0, exit: () => undefined, logger: createLogger({ service: 'tasker', level: logLevel }),
      relay: { pollIntervalMs: 100 }, bus: { reconnectDelayMs: { min: 100, max: 500 } },
    });
    spokes.push(spoke);
    return spoke;
  };

  return {
    prefix, hubDb, spokeDb, keys, verifier, recorder, env, hubs, spokes, startHub, startSpoke,
    token: (role: 'user' | 'admin', sub = `${role}-1`) => signTestToken(keys, { sub, role }),
    async cleanup() {
      for (const service of [...hubs, ...spokes]) await service.shutdown().catch(() => undefined);
      await deleteTestTopology(prefix, [...hubs.slice(0, 1), ...spokes.slice(0, 1)].flatMap((s) => s.queues)).catch(() => undefined);
      await hubDb.drop();
      await spokeDb.drop();
    },
  };
}

export type JobsWorld = Awaited<ReturnType<typeof jobsWorld>>;

/**
 * A hub as main.ts starts it (the kit's startService), in-process, on `env` (see `hubEnvFor`), trusting the
 * tokens `verifier` accepts. Spoke tests use it to run jobs through a real hub.
 */
export function startJobsHub(env: Record<string, string>, { verifier, logLevel = 'silent' }: { verifier: TokenVerifier; logLevel?: LogLevel }): Promise<Hub> {
  return startService(hubService(loadConfig(env)), {
    port: 0, exit: () => undefined, verifier, logger: createLogger({ service: 'hub', level: logLevel }),
    relay: { pollIntervalMs: 100 }, bus: { reconnectDelayMs: { min: 100, max: 500 } },
  });
}

/** What a hub of this world reads from its environment (in-process or as a spawned process). */
export function hubEnvFor({ prefix, databaseUrl, amqpUrl, extra = {} }: { prefix: string; databaseUrl: string; amqpUrl: string; extra?: Record<string, string> }) {
  return {
    PORT: '3000', REDIS_URL: testRedisUrl(), REGISTRY_MASTER_KEY: TEST_REGISTRY_MASTER_KEY, REGISTRY_KEY_PREFIX: `${prefix}:`, REGISTRY_RESYNC_MS: '200',
    RATE_LIMIT_KEY_PREFIX: `${prefix}:rl`, RATE_LIMIT_IP_MAX: '1000000', RATE_LIMIT_USER_MAX: '1000000',
    AUTH_JWKS_URL: 'http://127.0.0.1:9/unused', AUTH_ISSUER: TEST_ISSUER, AUTH_AUDIENCE: TEST_AUDIENCE,
    DATABASE_URL: databaseUrl, AMQP_URL: amqpUrl, AMQP_PREFIX: prefix, RABBITMQ_MANAGEMENT_URL: testRabbitMqManagementUrl(),
    JOBS_DISPATCH_INTERVAL_MS: '50', DRAIN_DELAY_MS: '0', VALIDATE_RESPONSES: 'true', ...extra,
  } as Record<string, string>;
}

/** A response body read loosely: its shape is checked by the hub itself (VALIDATE_RESPONSES) and by the assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = Record<string, any>;

/** The jobs API of one hub, as a client sees it. */
export function jobsClient(baseUrl: string, token: string) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${baseUrl}/api/hub${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as Json };
  };
  return {
    call,
    create: (body: unknown, headers?: Record<string, string>) => call('POST', '/jobs', body, headers),
    get: (id: string) => call('GET', `/jobs/${id}`),
    items: (id: string, query = '') => call('GET', `/jobs/${id}/items${query}`),
    /** Resolves with the job once it has finished. */
    finished: (id: string, timeoutMs = 30_000) => eventually(async () => {
      const { body } = await call('GET', `/jobs/${id}`);
      return ['succeeded', 'partially_failed', 'failed', 'cancelled'].includes(body.status as string) ? body : undefined;
    }, timeoutMs, 100),
  };
}

/** `count` items keyed `<prefix>0000`, `<prefix>0001`, … (sorting as created), each with the input `input(i)` says. */
export function jobItems(count: number, input: (i: number) => Record<string, unknown> = () => ({}), prefix = 'k') {
  return Array.from({ length: count }, (_, i) => ({ key: `${prefix}${String(i).padStart(4, '0')}`, input: input(i) }));
}

/** Every item of a job, following the cursor. */
export async function allItems(client: ReturnType<typeof jobsClient>, id: string, status?: string) {
  const items: Json[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams({ ...(status && { status }), ...(cursor && { cursor }) });
    const { body } = await client.items(id, `?${params.toString()}`);
    items.push(...(body.items as Json[]));
    cursor = body.nextCursor as string | null;
  } while (cursor);
  return items;
}

/** Waits until the hub's registry shows the task spoke's task types. */
export function spokeVisible(hub: Hub) {
  return eventually(() => hub.context.domain.registry.instances().some((record) => record.tasks.length > 0), 10_000);
}

export type { Recorder, TestDatabase, TestKeys, TokenVerifier };
